# SPDX-License-Identifier: Apache-2.0
# Copyright 2026 The vla_ros authors
"""FAST training writes a LeRobot pi0_fast folder that loads as a released one does.

A tiny run on synthetic demonstrations writes the folder; it loads through the embodiment
YAML's ``policy.inputs`` / ``policy.outputs`` (the published-layout path, strict weights), and
every training chunk's target ids (``Action: ``, FAST ids at ``V - 1 - 128 - f``, ``|``,
``<eos>``) decode back to that chunk within the DCT rounding error.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
import json
from pathlib import Path

import numpy as np
from numpy.typing import NDArray
import pytest
from safetensors import safe_open
import yaml

from vla_ros.core.config import load_config, VlaConfig
from vla_ros.core.errors import ConfigError, PolicyOutputError
from vla_ros.core.types import Observation
from vla_ros.policies.base import PolicySpec
from vla_ros.policies.default_robot import DEFAULT_HOME_POSITIONS, DEFAULT_SPEC
from vla_ros.policies.fast.dct import max_rounding_error
from vla_ros.policies.fast.lerobot_fast_policy import LeRobotFastPolicy
from vla_ros.policies.fast.lerobot_pi0_fast import describe_pi0_fast, VLA_ROS_VARIANT
from vla_ros.policies.fast.pi0_fast_prompt import LeRobotNormalizer, Pi0FastPrompt
from vla_ros.policies.fast.train import FAST_SKIP_TOKENS, train, TrainingConfig
from vla_ros.policies.registry import load_policy
from vla_ros.policies.tokens.config import ActionSpace
from vla_ros.policies.tokens.vlm import VlmSize

REPO_ROOT = Path(__file__).resolve().parents[2]
JOINTS = DEFAULT_SPEC.joint_names
CHUNK = 4
SIZE = VlmSize(width=32, depth=1, heads=2, head_dim=16, vision_width=72, vision_depth=1)
TINY = TrainingConfig(steps=2, batch_size=4, size=SIZE)
#: The move every synthetic demonstration shows, relative to the start (T, J).
DEMO_OFFSETS = np.outer([1.0, 2.0, 3.0, 4.0], [0.02, -0.03, 0.04, 0.01, 0.05, -0.01, 0.002])
#: The blue cube's demonstrations move twice as far as the red cube's.
INSTRUCTIONS = ('touch the red cube', 'touch the blue cube')


@dataclass(frozen=True, slots=True)
class Sample:
    """A training sample as ``DemonstrationDataset`` yields it."""

    observation: Observation
    actions: NDArray[np.float64]
    is_padding: NDArray[np.bool_]


def _demonstrations(count: int = 8) -> list[Sample]:
    rng = np.random.default_rng(1)
    samples = []
    for index in range(count):
        positions = np.asarray(DEFAULT_HOME_POSITIONS) + rng.normal(0.0, 0.02, 7) * [
            1, 1, 1, 1, 1, 1, 0]
        images = {name: rng.integers(0, 256, (64, 64, 3), dtype=np.uint8)
                  for name in DEFAULT_SPEC.camera_names}
        observation = Observation(images=images, joint_names=JOINTS, joint_positions=positions,
                                  instruction=INSTRUCTIONS[index % 2])
        samples.append(Sample(observation=observation,
                              actions=positions + DEMO_OFFSETS * (1 + index % 2),
                              is_padding=np.zeros(CHUNK, dtype=bool)))
    return samples


@pytest.fixture(scope='module')
def trained(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, tuple[float, ...]]:
    """A tiny FAST policy trained 200 steps on ``_demonstrations``: (folder, losses)."""
    config = TrainingConfig(steps=200, batch_size=8, learning_rate=5e-3, warmup_steps=5,
                            size=SIZE, log_every=200)
    result = train(_demonstrations(), tmp_path_factory.mktemp('fast') / 'trained', dt_s=0.1,
                   config=config, progress=False)
    return result.checkpoint_dir, result.losses


@pytest.fixture(scope='module')
def folder(trained: tuple[Path, tuple[float, ...]]) -> Path:
    """The folder the training run wrote."""
    return trained[0]


def _config(tmp_path: Path, folder: Path) -> VlaConfig:
    raw = yaml.safe_load((REPO_ROOT / 'config' / 'tabletop_arm.yaml').read_text())
    raw['embodiment']['urdf'] = str(REPO_ROOT / 'urdf' / 'tabletop_arm.urdf')
    raw.pop('sim')
    raw['policy'] = {'family': 'fast', 'checkpoint': str(folder), 'device': 'cpu',
                     'inputs': {'cameras': {'observation.images.front': 'front',
                                            'observation.images.wrist': 'wrist'},
                                'state': list(JOINTS)},
                     'outputs': {'joints': list(JOINTS), 'dt_s': 0.1}}
    path = tmp_path / 'config' / 'robot.yaml'
    path.parent.mkdir(exist_ok=True)
    path.write_text(yaml.safe_dump(raw))
    return load_config(path)


def _load(tmp_path: Path, folder: Path) -> LeRobotFastPolicy:
    config = _config(tmp_path, folder)
    policy = load_policy('fast', config.policy.checkpoint, device='cpu', settings=config.policy)
    assert isinstance(policy, LeRobotFastPolicy)
    return policy


def test_training_writes_the_lerobot_pi0_fast_files_and_names(folder: Path) -> None:
    config = json.loads((folder / 'config.json').read_text())
    assert config['type'] == 'pi0_fast' and config['paligemma_variant'] == VLA_ROS_VARIANT
    assert config['chunk_size'] == CHUNK and config['fast_skip_tokens'] == FAST_SKIP_TOKENS
    assert config['normalization_mapping'] == {'VISUAL': 'IDENTITY', 'STATE': 'QUANTILES',
                                               'ACTION': 'QUANTILES'}
    with safe_open(str(folder / 'model.safetensors'), 'np') as weights:
        names = set(weights.keys())
    prefix = 'model.paligemma_with_expert.paligemma.'
    assert all(name.startswith(prefix) for name in names)
    assert prefix + 'lm_head.weight' in names
    assert prefix + 'model.language_model.embed_tokens.weight' not in names  # tied, saved once
    assert prefix + 'model.vision_tower.vision_model.embeddings.patch_embedding.weight' in names
    for part in ('tokenizer/tokenizer.json', 'action_tokenizer/processor_config.json',
                 'action_tokenizer/tokenizer.json', 'policy_preprocessor.json',
                 'policy_postprocessor.json'):
        assert (folder / part).is_file(), part
    assert not (folder / 'vla_ros_policy.json').exists()
    described = describe_pi0_fast(folder)
    assert (described.width, described.depth, described.heads, described.head_size) == (
        32, 1, 2, 16)
    assert described.image_keys == (('observation.images.front', (3, 64, 64)),
                                    ('observation.images.wrist', (3, 64, 64)))


def test_training_lowers_the_loss_and_the_loaded_policy_repeats_the_demonstration(
        trained: tuple[Path, tuple[float, ...]], tmp_path: Path) -> None:
    folder, losses = trained
    assert np.mean(losses[-5:]) < 0.5 * np.mean(losses[:5])
    policy = _load(tmp_path, folder)
    assert policy.spec == PolicySpec(joint_names=JOINTS, camera_names=('front', 'wrist'),
                                     image_height=64, image_width=64, chunk_length=CHUNK,
                                     dt_s=0.1)
    for index in (2, 3):  # one of each instruction
        sample = _demonstrations()[index]
        chunk = policy.infer(sample.observation)
        assert chunk.joint_names == JOINTS and chunk.positions.shape == (CHUNK, 7)
        np.testing.assert_array_less(np.abs(chunk.positions - sample.actions),
                                     np.broadcast_to(_tolerance(policy), (CHUNK, 7)))


def _tolerance(policy: LeRobotFastPolicy) -> NDArray[np.float64]:
    """Largest FAST rounding error per joint, robot units (normalised error x half span)."""
    stats = policy.described.action_stats
    half_span = (stats['q99'] - stats['q01']) / 2
    return max_rounding_error(CHUNK, policy.fast_tokenizer.config.scale) * half_span + 1e-6


def test_the_model_generates_action_prefix_fast_ids_and_the_bar_as_trained(
        folder: Path, tmp_path: Path) -> None:
    policy = _load(tmp_path, folder)
    prompt = _prompt(policy)
    sample = _demonstrations()[0]
    generated = policy.generate_ids(sample.observation)
    normalized = LeRobotNormalizer('QUANTILES', policy.described.action_stats).normalize(
        sample.actions)
    target = prompt.target_ids(policy.fast_tokenizer.encode(normalized))
    assert generated.tolist() == target[:-1].tolist()  # decoding stops at "|", before <eos>


@pytest.mark.parametrize(('edit', 'match'), [
    (lambda ids: ids[:-1], r'no "\|"'),
    (lambda ids: ids[1:], r'does not start with "Action: "'),
    (lambda ids: np.delete(ids, -2), r'spell \d+ DCT coefficients, expected 28'),
    (lambda ids: np.insert(ids, -1, ids[-2]), r'spell \d+ DCT coefficients, expected 28'),
    (lambda ids: np.insert(ids, -1, 5), r'id 5 at position \d+ is no FAST token'),
], ids=['no-bar', 'no-action-prefix', 'too-few-coefficients', 'too-many-coefficients',
        'text-token'])
def test_malformed_output_is_policy_output_error_never_zeros(
        folder: Path, tmp_path: Path, edit: Callable[[NDArray[np.int64]], NDArray[np.int64]],
        match: str) -> None:
    policy = _load(tmp_path, folder)
    sample = _demonstrations()[0]
    normalized = LeRobotNormalizer('QUANTILES', policy.described.action_stats).normalize(
        sample.actions)
    ids = _prompt(policy).target_ids(policy.fast_tokenizer.encode(normalized))[:-1]
    policy.fast_tokenizer.decode(policy.fast_ids(ids))  # the well-formed sequence decodes
    with pytest.raises(PolicyOutputError, match=match):
        policy.fast_tokenizer.decode(policy.fast_ids(edit(ids)))


def _prompt(policy: LeRobotFastPolicy) -> Pi0FastPrompt:
    described = policy.described
    return Pi0FastPrompt(
        policy.tokenizer, policy.spec, state_joints=JOINTS,
        state=LeRobotNormalizer(described.state_mode, described.state_stats),
        model_vocab_size=described.vocab_size, tokens_per_image=16,
        fast_skip_tokens=described.fast_skip_tokens,
        fast_vocab_size=policy.fast_tokenizer.vocab_size, state_width=described.state_width)


def test_a_folder_without_the_yaml_mapping_is_refused_naming_inspect(folder: Path) -> None:
    with pytest.raises(ConfigError, match=r'policy\.inputs/policy\.outputs: .*vla-ros inspect'):
        load_policy('fast', folder, device='cpu')


def test_every_training_chunk_round_trips_through_its_target_ids(
        folder: Path, tmp_path: Path) -> None:
    demos = _demonstrations()
    policy = _load(tmp_path, folder)
    described = policy.described
    actions = LeRobotNormalizer(described.action_mode, described.action_stats)
    prompt = _prompt(policy)
    assert np.array_equal(prompt.prompt_ids(demos[1].observation),
                          policy.prompt(demos[1].observation).input_ids[0].numpy())
    bound = max_rounding_error(CHUNK, policy.fast_tokenizer.config.scale)
    half_span = (described.action_stats['q99'] - described.action_stats['q01']) / 2
    for index in range(len(demos)):
        chunk = demos[index].actions
        target = prompt.target_ids(policy.fast_tokenizer.encode(actions.normalize(chunk)))
        assert target[-1] == policy.tokenizer.eos_token_id
        last_fast = policy.tokenizer.vocab_size - 1 - FAST_SKIP_TOKENS
        fast_ids = policy.fast_ids(target[:-1])
        assert np.array_equal(target[prompt.prefix_length:-2], last_fast - fast_ids)
        decoded = actions.unnormalize(policy.fast_tokenizer.decode(fast_ids))
        assert np.all(np.abs(decoded - chunk) <= bound * half_span + 1e-9), index


def test_quantile_normalisation_is_lerobots_unclipped_map() -> None:
    stats = {'q01': np.array([-1.0, 0.0, 2.0]), 'q99': np.array([1.0, 4.0, 2.0])}
    normalizer = LeRobotNormalizer('QUANTILES', stats)
    values = np.array([3.0, 1.0, 2.0])
    # 2 (x - q01) / (q99 - q01) - 1, a zero span replaced by LeRobot's 1e-8; not clipped.
    expected = np.array([3.0, -0.5, -1.0])
    np.testing.assert_allclose(normalizer.normalize(values), expected)
    np.testing.assert_allclose(normalizer.unnormalize(expected), values)


@pytest.mark.parametrize(('change', 'message'), [
    ({'length_constrained': True}, 'decodes freely'),
    ({'config': TrainingConfig(steps=1, action_space=ActionSpace.DELTA)}, 'absolute'),
    ({'config': TrainingConfig(steps=1, size=VlmSize(vision_width=64))}, 'multiple of 72'),
], ids=['length-constrained', 'delta-actions', 'vision-width'])
def test_settings_the_released_layout_cannot_hold_are_refused(
        change: dict[str, object], message: str, tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match=message):
        train(_demonstrations(), tmp_path / 'out', dt_s=0.1, progress=False,
              **{'config': TINY, **change})  # type: ignore[arg-type]
    assert not (tmp_path / 'out').exists()


def test_pointing_cotraining_enters_every_step_only_when_weighted(
        tmp_path: Path, caplog: pytest.LogCaptureFixture) -> None:
    from vla_ros.core.config import CameraConfig
    from vla_ros.policies.pointing import PointingConfig
    from vla_ros.sim.pointing_scenes import render_pointing_scenes

    scenes = render_pointing_scenes(
        mjcf_path=REPO_ROOT / 'urdf' / 'tabletop_scene.xml',
        cameras=tuple(CameraConfig(name=name, topic=f'{name}/image', width=64, height=64)
                      for name in DEFAULT_SPEC.camera_names), count=30, seed=61000)
    losses = {}
    for weight in (0.0, 1.0):
        config = TrainingConfig(steps=6, batch_size=4, warmup_steps=1, size=SIZE, log_every=6,
                                pointing=PointingConfig(steps=2, batch_size=4, held_out=10),
                                pointing_weight=weight)
        with caplog.at_level('INFO', logger='vla_ros.policies.tokens.teacher_forcing'):
            losses[weight] = train(_demonstrations(), tmp_path / str(weight), dt_s=0.1,
                                   config=config, pointing=scenes, progress=False).losses

    # The same pre-trained start: the first action loss is the same, then the pointing term
    # changes the updates (the reported losses are the action loss alone).
    assert losses[0.0][0] == pytest.approx(losses[1.0][0], abs=1e-6)
    assert not np.allclose(losses[0.0][1:], losses[1.0][1:], rtol=0.0, atol=1e-6)
    assert caplog.text.count('pointing after the action training: held-out accuracy') == 2


def test_a_random_checkpoint_is_a_pi0_fast_folder_the_yaml_mapping_loads(
        tmp_path: Path) -> None:
    from vla_ros.policies.fast.checkpoint import create_random_checkpoint

    folder = create_random_checkpoint(tmp_path / 'random', seed=3, size=SIZE)
    assert json.loads((folder / 'config.json').read_text())['type'] == 'pi0_fast'
    policy = _load(tmp_path, folder)
    assert policy.spec.joint_names == JOINTS and policy.spec.chunk_length == 10
    generated = policy.generate_ids(_demonstrations()[0].observation)
    assert 1 <= generated.size <= policy.described.max_decoding_steps
    # The same seed writes the same weights.
    again = create_random_checkpoint(tmp_path / 'again', seed=3, size=SIZE)
    assert (again / 'model.safetensors').read_bytes() == (
        folder / 'model.safetensors').read_bytes()


def test_length_rule_forces_the_prefix_then_fitting_fast_ids_then_the_bar() -> None:
    from vla_ros.policies.fast.released_length_rule import Pi0FastLengthRule

    # FAST ids 0, 1, 2 spell 1, 2 and 0 coefficients: model ids 9, 8, 7 of 12; "|" is 1.
    rule = Pi0FastLengthRule((4, 5), np.array([1, 2, 0]), last_fast_id=9, end_id=1,
                             coefficients=3, vocab_size=12)
    allowed = [np.flatnonzero(rule(generated).numpy()).tolist()
               for generated in ([], [4], [4, 5], [4, 5, 8], [4, 5, 8, 9])]
    assert allowed == [[4], [5], [8, 9], [9], [1]]


def test_inspect_names_the_folders_quantile_normalisation(folder: Path,
                                                          capsys: pytest.CaptureFixture[str]
                                                          ) -> None:
    from vla_ros.cli.main import main

    assert main(['inspect', str(folder)]) == 0
    out = capsys.readouterr().out
    assert 'normalisation: STATE QUANTILES, ACTION QUANTILES' in out
    described = describe_pi0_fast(folder)
    expected = '[' + ', '.join(f'{v:.4g}' for v in described.action_stats['q99']) + ']'
    assert f'  action q99: {expected}' in out and 'mean:' not in out
