# SPDX-License-Identifier: Apache-2.0
# Copyright 2026 The vla_ros authors
"""The FAST-token policy on tiny real PaliGemma models: decoding, malformed output, training."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
import json
from pathlib import Path

import numpy as np
from numpy.typing import NDArray
import pytest

from vla_ros.core.errors import ConfigError, PolicyOutputError
from vla_ros.core.types import Observation
from vla_ros.policies.base import Policy, PolicySpec
from vla_ros.policies.default_robot import DEFAULT_HOME_POSITIONS, DEFAULT_SPEC
from vla_ros.policies.fast.checkpoint import create_random_checkpoint
from vla_ros.policies.fast.config import FastPolicyConfig
from vla_ros.policies.fast.dct import max_rounding_error
from vla_ros.policies.fast.length_rule import ChunkLengthRule
from vla_ros.policies.fast.model import FastPolicy
from vla_ros.policies.fast.train import train
from vla_ros.policies.registry import load_policy
from vla_ros.policies.tokens.config import ActionSpace
from vla_ros.policies.tokens.teacher_forcing import TrainingConfig
from vla_ros.policies.tokens.vlm import VlmSize

TINY = VlmSize(width=32, depth=1, heads=2, head_dim=16, vision_width=16, vision_depth=1,
               patch_px=16)
SPEC = PolicySpec(joint_names=DEFAULT_SPEC.joint_names, camera_names=DEFAULT_SPEC.camera_names,
                  image_height=64, image_width=64, chunk_length=4, dt_s=0.1)
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
                  for name in SPEC.camera_names}
        observation = Observation(images=images, joint_names=SPEC.joint_names,
                                  joint_positions=positions,
                                  instruction=INSTRUCTIONS[index % 2])
        samples.append(Sample(observation=observation,
                              actions=positions + DEMO_OFFSETS * (1 + index % 2),
                              is_padding=np.zeros(SPEC.chunk_length, dtype=bool)))
    return samples


def _assert_below(errors: NDArray[np.float64], bounds: NDArray[np.float64] | float) -> None:
    """Every error (T, J) below its joint's bound (J,) (numpy's check does not broadcast)."""
    np.testing.assert_array_less(errors, np.broadcast_to(bounds, np.shape(errors)))


@pytest.fixture(scope='module')
def trained(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, tuple[float, ...]]:
    """A tiny FAST policy trained on ``_demonstrations``: (checkpoint, per-step losses)."""
    config = TrainingConfig(steps=200, batch_size=8, learning_rate=5e-3, warmup_steps=5,
                            size=TINY, action_space=ActionSpace.DELTA, log_every=200)
    result = train(_demonstrations(), tmp_path_factory.mktemp('fast') / 'trained', dt_s=0.1,
                   config=config, fast_vocab_size=48)
    return result.checkpoint_dir, result.losses


def _load(checkpoint_dir: Path) -> FastPolicy:
    policy = load_policy('fast', checkpoint_dir)
    assert isinstance(policy, FastPolicy)
    return policy


def _tolerance(policy: FastPolicy) -> NDArray[np.float64]:
    """Largest FAST rounding error per joint, robot units (normalized error x half span)."""
    config = policy.processor.fast_tokenizer.config
    stats = policy.config.normalization.actions
    half_span = (np.asarray(stats.q99) - np.asarray(stats.q01)) / 2
    return max_rounding_error(config.chunk_length, config.scale) * half_span + 1e-6


def test_training_lowers_the_loss_and_the_policy_repeats_the_demonstration(
        trained: tuple[Path, tuple[float, ...]]) -> None:
    checkpoint_dir, losses = trained
    assert np.mean(losses[-5:]) < 0.5 * np.mean(losses[:5])
    policy: Policy = _load(checkpoint_dir)
    assert policy.spec == SPEC
    sample = _demonstrations()[3]
    chunk = policy.infer(sample.observation)
    assert chunk.joint_names == SPEC.joint_names
    assert chunk.positions.shape == (4, 7)
    assert chunk.dt_s == pytest.approx(0.1)
    assert isinstance(policy, FastPolicy)
    _assert_below(np.abs(chunk.positions - sample.actions), _tolerance(policy))


def test_generated_ids_are_fast_ids_then_the_end_token(
        trained: tuple[Path, tuple[float, ...]]) -> None:
    policy = _load(trained[0])
    sample = _demonstrations()[0]
    ids = policy.generate_ids(sample.observation)
    processor = policy.processor
    assert ids[-1] == processor.end_id
    assert ids[:-1].min() >= processor.first_fast_id
    assert ids.tolist() == processor.target_ids(
        sample.actions, sample.observation.joint_positions).tolist()


def test_saved_policy_predicts_identically_after_loading(
        trained: tuple[Path, tuple[float, ...]], tmp_path: Path) -> None:
    original = _load(trained[0])
    observation = _demonstrations()[6].observation
    expected = original.infer(observation).positions
    original.save(tmp_path / 'saved')
    reloaded = _load(tmp_path / 'saved')
    np.testing.assert_array_equal(reloaded.infer(observation).positions, expected)
    assert FastPolicyConfig.load(tmp_path / 'saved') == original.config
    assert reloaded.config.max_new_tokens == 4 * 7 + 1


def _drop_last_fast_id(ids: NDArray[np.int64]) -> NDArray[np.int64]:
    return np.delete(ids, -2)


def _repeat_first_fast_id(ids: NDArray[np.int64]) -> NDArray[np.int64]:
    return np.insert(ids, 0, ids[0])


@pytest.mark.parametrize(('edit', 'match'), [
    (lambda ids: ids[:-1], r'without the end token'),
    (lambda ids: ids[-1:], r'expected a non-empty 1-D sequence'),
    (_drop_last_fast_id, r'expand to \d+ DCT coefficients, expected 28'),
    (_repeat_first_fast_id, r'expand to \d+ DCT coefficients, expected 28'),
    (lambda ids: np.insert(ids, 1, 5), r'id 5 at position 1 is not a FAST token'),
], ids=['no-end-token', 'end-token-only', 'too-few-coefficients', 'too-many-coefficients',
        'text-token'])
def test_malformed_fast_sequence_is_policy_output_error_never_zeros(
        trained: tuple[Path, tuple[float, ...]],
        edit: Callable[[NDArray[np.int64]], NDArray[np.int64]], match: str) -> None:
    processor = _load(trained[0]).processor
    sample = _demonstrations()[0]
    positions = sample.observation.joint_positions
    ids = processor.target_ids(sample.actions, positions)
    _assert_below(  # the well-formed sequence decodes
        np.abs(processor.to_action_chunk(ids, positions).positions - sample.actions), 0.05)
    with pytest.raises(PolicyOutputError, match=match):
        processor.to_action_chunk(edit(ids), positions)


def test_a_chunk_that_does_not_end_within_the_budget_fails_inference(
        tmp_path: Path, observation: Observation) -> None:
    # One id of budget: either the end token alone or a FAST id without an end, never valid.
    checkpoint = create_random_checkpoint(tmp_path / 'random', seed=0, size=TINY,
                                          max_new_tokens=1)
    policy = _load(checkpoint)
    assert policy.spec == DEFAULT_SPEC
    with pytest.raises(PolicyOutputError, match=r'FAST (output|tokens): '):
        policy.infer(observation)


def test_loading_a_fast_checkpoint_whose_tokenizer_disagrees_is_config_error(
        trained: tuple[Path, tuple[float, ...]], tmp_path: Path) -> None:
    mixed = tmp_path / 'mixed'
    mixed.mkdir()
    for path in trained[0].iterdir():
        (mixed / path.name).write_bytes(path.read_bytes())
    fast_config = json.loads((mixed / 'fast_config.json').read_text())
    fast_config['chunk_length'] = 5  # the FAST tokenizer of 5-step chunks, the spec has 4
    (mixed / 'fast_config.json').write_text(json.dumps(fast_config))
    with pytest.raises(ConfigError, match=r'chunks of 5 x 7, the spec has 4 steps x 7 joints'):
        load_policy('fast', mixed)


def test_length_rule_allows_only_ids_that_fit_and_the_end_token_once_complete() -> None:
    # FAST ids 0, 1, 2 stand for 1, 2 and 3 coefficients: model ids 9, 8, 7 of 10; end is 0.
    rule = ChunkLengthRule(np.array([1, 2, 3]), coefficients=4, vocab_size=10, end_id=0)
    assert np.flatnonzero(rule([]).numpy()).tolist() == [7, 8, 9]
    assert np.flatnonzero(rule([7]).numpy()).tolist() == [9]  # 1 coefficient left
    assert np.flatnonzero(rule([8]).numpy()).tolist() == [8, 9]
    assert np.flatnonzero(rule([7, 9]).numpy()).tolist() == [0]  # complete: only the end


def test_length_constrained_random_policy_always_decodes_a_full_chunk(
        tmp_path: Path, make_observation: Callable[..., Observation]) -> None:
    checkpoint = create_random_checkpoint(tmp_path / 'random', seed=0, size=TINY,
                                          length_constrained=True)
    policy = _load(checkpoint)
    assert policy.config.length_constrained
    for seed in range(3):
        observation = make_observation(seed=seed)
        ids = policy.generate_ids(observation)
        assert ids[-1] == policy.processor.end_id
        chunk = policy.infer(observation)
        assert chunk.positions.shape == (10, 7)


def test_pointing_cotraining_enters_every_step_only_when_weighted(
        tmp_path: Path, caplog: pytest.LogCaptureFixture) -> None:
    from vla_ros.core.config import CameraConfig
    from vla_ros.policies.pointing import PointingConfig
    from vla_ros.sim.pointing_scenes import render_pointing_scenes

    scenes = render_pointing_scenes(
        mjcf_path=Path(__file__).resolve().parents[2] / 'urdf' / 'tabletop_scene.xml',
        cameras=tuple(CameraConfig(name=name, topic=f'{name}/image', width=64, height=64)
                      for name in SPEC.camera_names), count=30, seed=61000)
    losses = {}
    for weight in (0.0, 1.0):
        config = TrainingConfig(steps=6, batch_size=4, warmup_steps=1, size=TINY, log_every=6,
                                pointing=PointingConfig(steps=2, batch_size=4, held_out=10),
                                pointing_weight=weight)
        with caplog.at_level('INFO', logger='vla_ros.policies.tokens.teacher_forcing'):
            losses[weight] = train(_demonstrations(), tmp_path / str(weight), dt_s=0.1,
                                   config=config, fast_vocab_size=48, pointing=scenes).losses

    # The same pre-trained start: the first action loss is the same, then the pointing term
    # changes the updates (the reported losses are the action loss alone).
    assert losses[0.0][0] == pytest.approx(losses[1.0][0], abs=1e-6)
    assert not np.allclose(losses[0.0][1:], losses[1.0][1:], rtol=0.0, atol=1e-6)
    assert caplog.text.count('pointing after the action training: held-out accuracy') == 2
    with pytest.raises(ConfigError, match='pointing_weight: -1.0, expected a number >= 0'):
        TrainingConfig(pointing_weight=-1.0)
