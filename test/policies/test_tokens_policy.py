# SPDX-License-Identifier: Apache-2.0
# Copyright 2026 The vla_ros authors
"""The discrete-token policy on tiny real PaliGemma models: prompt, decoding, training, I/O."""

from __future__ import annotations

from dataclasses import dataclass
import json
from pathlib import Path

import numpy as np
from numpy.typing import NDArray
import pytest
import torch

from vla_ros.cli.main import main
from vla_ros.core.errors import ConfigError, PolicyOutputError
from vla_ros.core.types import Observation
from vla_ros.policies.base import Policy, PolicySpec
from vla_ros.policies.default_robot import DEFAULT_HOME_POSITIONS, DEFAULT_SPEC
from vla_ros.policies.registry import load_policy
from vla_ros.policies.tokens.checkpoint import create_random_checkpoint
from vla_ros.policies.tokens.config import ActionSpace, CONFIG_FILENAME, TokensPolicyConfig
from vla_ros.policies.tokens.greedy_decoding import greedy_decode
from vla_ros.policies.tokens.model import TokensPolicy
from vla_ros.policies.tokens.teacher_forcing import TrainingConfig
from vla_ros.policies.tokens.train import train
from vla_ros.policies.tokens.vlm import VlmSize

#: A model small enough to train for a few dozen steps in a second or two.
TINY = VlmSize(width=32, depth=1, heads=2, head_dim=16, vision_width=16, vision_depth=1,
               patch_px=16)
SHORT_SPEC = PolicySpec(joint_names=DEFAULT_SPEC.joint_names,
                        camera_names=DEFAULT_SPEC.camera_names, image_height=64, image_width=64,
                        chunk_length=3, dt_s=0.1)
#: The move the synthetic demonstrations show, (T, J).
DEMO_OFFSETS = np.outer([1.0, 2.0, 3.0], [0.02, -0.03, 0.04, 0.01, 0.05, -0.01, 0.002])

#: The blue cube's demonstrations move twice as far as the red cube's.
INSTRUCTIONS = ('touch the red cube', 'touch the blue cube')


@dataclass(frozen=True, slots=True)
class Sample:
    """A training sample as ``DemonstrationDataset`` yields it."""

    observation: Observation
    actions: NDArray[np.float64]
    is_padding: NDArray[np.bool_]


def _demonstrations(count: int = 8) -> list[Sample]:
    """``count`` samples: noise images, poses near home, the same relative move each time."""
    rng = np.random.default_rng(0)
    samples = []
    for index in range(count):
        positions = np.asarray(DEFAULT_HOME_POSITIONS) + rng.normal(0.0, 0.02, 7) * [
            1, 1, 1, 1, 1, 1, 0]
        images = {name: rng.integers(0, 256, (64, 64, 3), dtype=np.uint8)
                  for name in SHORT_SPEC.camera_names}
        observation = Observation(images=images, joint_names=SHORT_SPEC.joint_names,
                                  joint_positions=positions,
                                  instruction=INSTRUCTIONS[index % 2])
        samples.append(Sample(observation=observation,
                              actions=positions + DEMO_OFFSETS * (1 + index % 2),
                              is_padding=np.zeros(3, dtype=bool)))
    return samples


def _assert_below(errors: NDArray[np.float64], bounds: NDArray[np.float64] | float) -> None:
    """Every error (T, J) below its joint's bound (J,) (numpy's check does not broadcast)."""
    np.testing.assert_array_less(errors, np.broadcast_to(bounds, np.shape(errors)))


@pytest.fixture(scope='module')
def random_checkpoint(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return create_random_checkpoint(tmp_path_factory.mktemp('tokens') / 'random', seed=0)


@pytest.fixture(scope='module')
def trained(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, tuple[float, ...]]:
    """A tiny policy trained on ``_demonstrations``: (checkpoint, per-step losses)."""
    config = TrainingConfig(steps=200, batch_size=8, learning_rate=5e-3, warmup_steps=5,
                            size=TINY, action_space=ActionSpace.DELTA, log_every=200)
    result = train(_demonstrations(), tmp_path_factory.mktemp('tokens') / 'trained',
                   dt_s=0.1, config=config)
    return result.checkpoint_dir, result.losses


def _load(checkpoint_dir: Path) -> TokensPolicy:
    policy = load_policy('tokens', checkpoint_dir)
    assert isinstance(policy, TokensPolicy)
    return policy


def _bin_width(policy: TokensPolicy) -> NDArray[np.float64]:
    stats = policy.config.normalization.actions
    return (np.asarray(stats.q99) - np.asarray(stats.q01) + stats.eps) / 256 + 1e-9


def test_random_policy_chunk_has_the_spec_shape_and_stays_in_the_statistics_box(
        random_checkpoint: Path, observation: Observation) -> None:
    policy: Policy = _load(random_checkpoint)
    chunk = policy.infer(observation)
    assert policy.spec == DEFAULT_SPEC
    assert chunk.joint_names == DEFAULT_SPEC.joint_names
    assert chunk.positions.shape == (10, 7)
    assert chunk.dt_s == pytest.approx(0.1)
    # Every bin decodes inside q01..q99 = home -/+ 0.1 of the default statistics.
    assert np.abs(chunk.positions - DEFAULT_HOME_POSITIONS).max() <= 0.1 + 1e-6


def test_prompt_holds_image_placeholders_then_instruction_and_state_bins(
        random_checkpoint: Path, observation: Observation) -> None:
    policy = _load(random_checkpoint)
    prompt = policy.processor.prompt
    ids = prompt.prompt_ids(observation).tolist()
    tokenizer = prompt.tokenizer
    image_id = tokenizer.convert_tokens_to_ids('<image>')
    assert ids[:32] == [image_id] * 32  # 2 cameras x (64 / 16)^2 patches
    assert ids[32] == tokenizer.bos_token_id
    # State box home -/+ 1 rad in 256 bins; beyond the box the state is clipped.
    home = np.asarray(DEFAULT_HOME_POSITIONS)
    assert prompt.state_text(home + 0.51) == ' '.join(['193'] * 7)  # floor(1.51 * 128)
    assert prompt.state_text(home - 0.49) == ' '.join(['65'] * 7)  # floor(0.51 * 128)
    assert prompt.state_text(home + 1.5) == ' '.join(['255'] * 7)
    text = tokenizer.decode(ids[33:])
    state = prompt.state_text(observation.joint_positions)
    assert text == f'Task: pick up the red cube, State: {state};\nAction: '


def test_cached_greedy_decoding_equals_recomputing_the_whole_sequence(
        random_checkpoint: Path, observation: Observation) -> None:
    policy = _load(random_checkpoint)
    inputs = policy.processor.prepare(observation)
    allowed = torch.zeros(policy.processor.action_tokenizer.vocab_size, dtype=torch.bool)
    allowed[-256:] = True
    cached = greedy_decode(policy.model, inputs, allowed=allowed, max_new_tokens=6)
    recomputed: list[int] = []
    with torch.inference_mode():
        for _ in range(6):
            generated = torch.tensor([recomputed], dtype=torch.long).reshape(1, -1)
            ids = torch.cat([inputs.input_ids, generated], dim=1)
            types = torch.cat([inputs.token_type_ids, torch.ones_like(generated)], dim=1)
            logits = policy.model(input_ids=ids, token_type_ids=types,
                                  pixel_values=inputs.pixel_values).logits[0, -1]
            recomputed.append(int(torch.argmax(logits.masked_fill(~allowed, -torch.inf))))
    assert cached.tolist() == recomputed


def test_training_lowers_the_loss_and_the_policy_repeats_the_demonstration(
        trained: tuple[Path, tuple[float, ...]]) -> None:
    checkpoint_dir, losses = trained
    assert np.mean(losses[-5:]) < 0.5 * np.mean(losses[:5])
    policy = _load(checkpoint_dir)
    sample = _demonstrations()[2]
    chunk = policy.infer(sample.observation)
    # Within half a bin of the demonstrated move (the bins span its q01..q99 per joint).
    _assert_below(np.abs(chunk.positions - sample.actions),
                                 _bin_width(policy) * 0.501)


def test_saved_policy_predicts_identically_after_loading(
        trained: tuple[Path, tuple[float, ...]], tmp_path: Path) -> None:
    original = _load(trained[0])
    observation = _demonstrations()[5].observation
    expected = original.infer(observation).positions
    np.testing.assert_array_equal(original.infer(observation).positions, expected)
    original.save(tmp_path / 'saved')
    np.testing.assert_array_equal(_load(tmp_path / 'saved').infer(observation).positions,
                                  expected)
    assert TokensPolicyConfig.load(tmp_path / 'saved') == original.config


def test_target_ids_decode_back_to_the_chunk_within_half_a_bin(
        trained: tuple[Path, tuple[float, ...]]) -> None:
    processor = _load(trained[0]).processor
    sample = _demonstrations()[0]
    positions = sample.observation.joint_positions
    ids = processor.target_ids(sample.actions, positions)
    assert ids.shape == (21,)
    assert ids.min() >= processor.action_tokenizer.first_token_id
    back = processor.to_action_chunk(ids, positions).positions
    # Half a bin where inside q01..q99; beyond them the values are clipped to the edge.
    stats = _load(trained[0]).config.normalization.actions
    deltas = np.clip(sample.actions - positions, stats.q01, stats.q99)
    _assert_below(np.abs(back - positions - deltas),
                                 _bin_width(_load(trained[0])) * 0.501)


@pytest.mark.parametrize(('edit', 'match'), [
    (lambda ids: ids[:-1], r'action tokens: 20 ids, expected 21'),
    (lambda ids: np.append(ids, ids[-1]), r'action tokens: 22 ids, expected 21'),
    (lambda ids: np.where(np.arange(ids.size) == 4, 7, ids),
     r'id 7 at position 4 \(step 0, dim 4\) is not an action token'),
], ids=['too-few', 'too-many', 'text-token'])
def test_malformed_token_sequence_is_policy_output_error(
        trained: tuple[Path, tuple[float, ...]], edit: object, match: str) -> None:
    processor = _load(trained[0]).processor
    sample = _demonstrations()[0]
    ids = processor.target_ids(sample.actions, sample.observation.joint_positions)
    with pytest.raises(PolicyOutputError, match=match):
        processor.to_action_chunk(edit(ids), sample.observation.joint_positions)  # type: ignore[operator]


def test_loading_a_tokens_checkpoint_as_another_family_or_corrupted_is_config_error(
        random_checkpoint: Path, tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match="family: 'tokens', expected 'fast'"):
        load_policy('fast', random_checkpoint)
    raw = json.loads((random_checkpoint / CONFIG_FILENAME).read_text())
    raw['normalization']['action_space'] = 'velocity'
    broken = tmp_path / 'broken'
    broken.mkdir()
    for path in random_checkpoint.iterdir():
        (broken / path.name).write_bytes(path.read_bytes())
    (broken / CONFIG_FILENAME).write_text(json.dumps(raw))
    with pytest.raises(ConfigError, match=r"normalization.action_space: 'velocity'"):
        load_policy('tokens', broken)


def test_command_line_writes_a_loadable_random_checkpoint(
        random_checkpoint: Path, tmp_path: Path, observation: Observation) -> None:
    assert main(['random-checkpoint', '--family', 'tokens', '--out', str(tmp_path / 'cli'),
                 '--seed', '0']) == 0
    np.testing.assert_array_equal(_load(tmp_path / 'cli').infer(observation).positions,
                                  _load(random_checkpoint).infer(observation).positions)


@pytest.mark.parametrize('init_std', [None, 0.1])
def test_init_std_sets_the_spread_of_the_language_model_weights(init_std):
    from vla_ros.policies.tokens.vlm import build_vlm

    model = build_vlm(DEFAULT_SPEC, text_vocab_size=300, action_vocab_size=256,
                      image_token_id=5, size=VlmSize(init_std=init_std), seed=1)
    query = model.model.language_model.layers[0].self_attn.q_proj.weight

    assert float(query.detach().std()) == pytest.approx(init_std or 0.02, rel=0.05)


def test_a_non_positive_init_std_is_refused():
    with pytest.raises(ConfigError, match=r'VlmSize.init_std: 0.0, expected a number > 0'):
        VlmSize(init_std=0.0)
