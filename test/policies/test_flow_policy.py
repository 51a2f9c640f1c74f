# SPDX-License-Identifier: Apache-2.0
# Copyright 2026 The vla_ros authors
"""The flow policy end to end on a tiny real PI0 model: chunks, determinism, bad input, parity."""

from __future__ import annotations

from collections.abc import Callable
import dataclasses
import filecmp
import json
from pathlib import Path
import re
import shutil

import numpy as np
import pytest
import torch
from transformers import PI0ForConditionalGeneration, PI0Processor

from vla_ros.cli.main import main
from vla_ros.core.config import PolicyConfig
from vla_ros.core.errors import ConfigError, InputError
from vla_ros.core.policy_family import PolicyFamily
from vla_ros.core.types import Observation
from vla_ros.policies.base import Policy
from vla_ros.policies.flow.checkpoint import (
    create_random_checkpoint,
    DEFAULT_HOME_POSITIONS,
    DEFAULT_MOTION_STD,
    DEFAULT_SPEC,
)
from vla_ros.policies.flow.config import CONFIG_FILENAME, FlowPolicyConfig
from vla_ros.policies.flow.model import FlowPolicy
from vla_ros.policies.registry import load_policy

CHECKPOINT_FILES = ('config.json', 'model.safetensors', 'processor_config.json',
                    'tokenizer.json', 'tokenizer_config.json', CONFIG_FILENAME)


def _load(checkpoint_dir: Path) -> FlowPolicy:
    policy = load_policy('flow', checkpoint_dir)
    assert isinstance(policy, FlowPolicy)
    return policy


def _copy(checkpoint_dir: Path, tmp_path: Path) -> Path:
    return Path(shutil.copytree(checkpoint_dir, tmp_path / 'copy'))


def test_infer_returns_chunk_shaped_named_and_timed_like_the_spec(
        flow_checkpoint: Path, observation: Observation) -> None:
    policy: Policy = _load(flow_checkpoint)  # FlowPolicy satisfies the protocol (mypy)
    chunk = policy.infer(observation)
    assert policy.spec == DEFAULT_SPEC
    assert chunk.joint_names == DEFAULT_SPEC.joint_names
    assert chunk.positions.shape == (10, 7)
    assert chunk.dt_s == pytest.approx(0.1)
    assert np.all(np.isfinite(chunk.positions))
    # The default statistics keep a random policy within a few stds of home.
    deviation = np.abs(chunk.positions - DEFAULT_HOME_POSITIONS) / DEFAULT_MOTION_STD
    assert deviation.max() < 6.0
    assert chunk.positions.std(axis=0).min() > 0.0


def test_fresh_loads_repeat_the_same_chunk_sequence(
        flow_checkpoint: Path, observation: Observation) -> None:
    first, second = _load(flow_checkpoint), _load(flow_checkpoint)
    chunks_first = [first.infer(observation).positions for _ in range(2)]
    chunks_second = [second.infer(observation).positions for _ in range(2)]
    np.testing.assert_array_equal(chunks_first[0], chunks_second[0])
    np.testing.assert_array_equal(chunks_first[1], chunks_second[1])
    # The noise generator advances: the next chunk of the same observation is a new sample.
    assert not np.allclose(chunks_first[0], chunks_first[1])


def test_same_seed_writes_identical_checkpoint_files(
        flow_checkpoint: Path, tmp_path: Path) -> None:
    again = create_random_checkpoint(tmp_path / 'again', DEFAULT_SPEC, seed=0,
                                     home_positions=DEFAULT_HOME_POSITIONS,
                                     motion_std=DEFAULT_MOTION_STD)
    other = create_random_checkpoint(tmp_path / 'other', DEFAULT_SPEC, seed=1,
                                     home_positions=DEFAULT_HOME_POSITIONS,
                                     motion_std=DEFAULT_MOTION_STD)
    assert sorted(path.name for path in again.iterdir()) == sorted(CHECKPOINT_FILES)
    for name in CHECKPOINT_FILES:
        assert filecmp.cmp(flow_checkpoint / name, again / name, shallow=False), name
    assert not filecmp.cmp(flow_checkpoint / 'model.safetensors', other / 'model.safetensors',
                           shallow=False)


def test_command_line_writes_the_default_robot_checkpoint(
        flow_checkpoint: Path, tmp_path: Path) -> None:
    assert main(['random-checkpoint', '--out', str(tmp_path / 'cli'), '--seed', '0']) == 0
    for name in CHECKPOINT_FILES:
        assert filecmp.cmp(flow_checkpoint / name, tmp_path / 'cli' / name, shallow=False), name
    assert main(['random-checkpoint', '--out', str(tmp_path / 'bad'), '--home', '0.0',
                 '0.1']) == 1


def test_saved_policy_predicts_identically_after_loading(
        flow_checkpoint: Path, observation: Observation, tmp_path: Path) -> None:
    original = _load(flow_checkpoint)
    original.save(tmp_path / 'saved')
    expected = original.infer(observation).positions
    np.testing.assert_array_equal(_load(tmp_path / 'saved').infer(observation).positions, expected)


def test_instruction_images_and_state_each_change_the_actions(
        flow_checkpoint: Path, make_observation: Callable[..., Observation]) -> None:
    base = make_observation()
    variants = {
        'instruction': make_observation(instruction='open the drawer'),
        'images': dataclasses.replace(make_observation(seed=1),
                                      joint_positions=base.joint_positions),
        'state': dataclasses.replace(base, joint_positions=base.joint_positions + 0.3),
    }
    reference = _load(flow_checkpoint).infer(base).positions
    for name, variant in variants.items():
        changed = _load(flow_checkpoint).infer(variant).positions
        assert np.abs(changed - reference).max() > 1e-6, name


@pytest.mark.parametrize(('edit', 'match'), [
    (lambda obs: dataclasses.replace(
        obs, images={**obs.images, 'front': np.zeros((32, 48), np.uint8)}),
     r"images\['front'\]: dtype uint8 shape \(32, 48\), expected uint8 \(H, W, 3\)"),
    (lambda obs: dataclasses.replace(obs, images={'front': obs.images['front']}),
     r"camera 'wrist': no image in the observation"),
    (lambda obs: dataclasses.replace(
        obs, joint_names=obs.joint_names[:-1], joint_positions=obs.joint_positions[:-1]),
     r"lacks joints \['gripper_joint'\]"),
    (lambda obs: dataclasses.replace(obs, instruction='   '), r'instruction is empty'),
], ids=['not-an-rgb-image', 'missing-camera', 'missing-joint', 'empty-instruction'])
def test_unusable_observation_is_input_error(flow_checkpoint: Path, observation: Observation,
                                             edit: Callable[[Observation], Observation],
                                             match: str) -> None:
    policy = _load(flow_checkpoint)
    with pytest.raises(InputError, match=match):
        policy.infer(edit(observation))


def test_corrupted_config_json_is_config_error(flow_checkpoint: Path, tmp_path: Path) -> None:
    checkpoint = _copy(flow_checkpoint, tmp_path)
    (checkpoint / CONFIG_FILENAME).write_text('{"schema_version": 1, "spec": {"joint_na')
    with pytest.raises(ConfigError, match=r'vla_ros_policy\.json: not valid JSON'):
        load_policy('flow', checkpoint)


def test_missing_weights_are_config_error(flow_checkpoint: Path, tmp_path: Path) -> None:
    checkpoint = _copy(flow_checkpoint, tmp_path)
    (checkpoint / 'model.safetensors').unlink()
    with pytest.raises(ConfigError, match='cannot load the PI0 model'):
        load_policy('flow', checkpoint)


def test_spec_that_disagrees_with_the_model_is_config_error(
        flow_checkpoint: Path, tmp_path: Path) -> None:
    checkpoint = _copy(flow_checkpoint, tmp_path)
    raw = json.loads((checkpoint / CONFIG_FILENAME).read_text())
    raw['spec']['chunk_length'] = 12
    (checkpoint / CONFIG_FILENAME).write_text(json.dumps(raw))
    with pytest.raises(ConfigError, match=r'spec\.chunk_length is 12, the model predicts 10'):
        load_policy('flow', checkpoint)


@pytest.mark.parametrize('device', ['cuda:99', 'tpu', 'gpu0'])
def test_unavailable_device_is_config_error_not_a_cpu_fallback(
        flow_checkpoint: Path, device: str) -> None:
    with pytest.raises(ConfigError, match=re.escape(f'policy.device: {device!r}')):
        load_policy('flow', flow_checkpoint, device=device)


def test_threads_setting_sets_torch_threads_and_bad_counts_are_config_errors(
        flow_checkpoint: Path) -> None:
    before = torch.get_num_threads()
    try:
        load_policy('flow', flow_checkpoint, threads=before + 1)
        assert torch.get_num_threads() == before + 1
    finally:
        torch.set_num_threads(before)
    with pytest.raises(ConfigError, match=r'policy\.threads: 0, expected >= 1'):
        load_policy('flow', flow_checkpoint, threads=0)


def test_matches_transformers_sampling_called_directly(
        flow_checkpoint: Path, observation: Observation) -> None:
    chunk = _load(flow_checkpoint).infer(observation)
    config = FlowPolicyConfig.load(flow_checkpoint)
    state_stats, action_stats = config.normalization.state, config.normalization.actions
    processor = PI0Processor.from_pretrained(
        flow_checkpoint, local_files_only=True, state_mean=list(state_stats.mean),
        state_std=list(state_stats.std))
    model = PI0ForConditionalGeneration.from_pretrained(flow_checkpoint, local_files_only=True)
    model.eval()  # type: ignore[no-untyped-call]
    inputs = processor(
        images=[[observation.images[name] for name in DEFAULT_SPEC.camera_names]],
        text=observation.instruction,
        state=observation.positions_for(DEFAULT_SPEC.joint_names)[None].astype(np.float32))
    noise = torch.randn((1, model.config.chunk_size, model.config.max_action_dim),
                        generator=torch.Generator().manual_seed(config.noise_seed))
    with torch.inference_mode():
        actions = model.sample_actions(
            noise=noise, num_steps=config.num_denoising_steps, **inputs)
    expected = (actions[0, :, :7].double().numpy() * (np.asarray(action_stats.std) + 1e-8)
                + np.asarray(action_stats.mean))
    assert np.abs(chunk.positions - expected).max() <= 1e-5


def test_noise_scale_zero_starts_every_chunk_from_zeros(
        flow_checkpoint: Path, observation: Observation) -> None:
    settings = PolicyConfig(family=PolicyFamily.FLOW, checkpoint=flow_checkpoint,
                            noise_scale=0.0)
    policy = load_policy('flow', flow_checkpoint, settings=settings)
    assert isinstance(policy, FlowPolicy) and 'noise scale 0' in policy.inference_path
    first, second = policy.infer(observation), policy.infer(observation)
    np.testing.assert_array_equal(first.positions, second.positions)  # nothing sampled
    # The same chunk as transformers' sampler from zero noise.
    config = FlowPolicyConfig.load(flow_checkpoint)
    model = PI0ForConditionalGeneration.from_pretrained(flow_checkpoint, local_files_only=True)
    model.eval()  # type: ignore[no-untyped-call]
    state_stats, action_stats = config.normalization.state, config.normalization.actions
    processor = PI0Processor.from_pretrained(
        flow_checkpoint, local_files_only=True, state_mean=list(state_stats.mean),
        state_std=list(state_stats.std))
    inputs = processor(
        images=[[observation.images[name] for name in DEFAULT_SPEC.camera_names]],
        text=observation.instruction,
        state=observation.positions_for(DEFAULT_SPEC.joint_names)[None].astype(np.float32))
    with torch.inference_mode():
        actions = model.sample_actions(
            noise=torch.zeros((1, model.config.chunk_size, model.config.max_action_dim)),
            num_steps=config.num_denoising_steps, **inputs)
    expected = (actions[0, :, :7].double().numpy() * (np.asarray(action_stats.std) + 1e-8)
                + np.asarray(action_stats.mean))
    assert np.abs(first.positions - expected).max() <= 1e-5
    sampled = _load(flow_checkpoint).infer(observation)
    assert np.abs(sampled.positions - expected).max() > 1e-3  # scale 1 does sample


def test_noise_scale_is_checked_and_read_by_the_flow_family_only(
        flow_checkpoint: Path, tmp_path: Path) -> None:
    for bad in (-0.5, float('nan'), True, 'low'):
        with pytest.raises(ConfigError, match='policy.noise_scale'):
            PolicyConfig(family=PolicyFamily.FLOW, checkpoint=flow_checkpoint,
                         noise_scale=bad)  # type: ignore[arg-type]
    tokens = PolicyConfig(family=PolicyFamily.TOKENS, checkpoint=tmp_path, noise_scale=0.0)
    with pytest.raises(ConfigError, match="policy.noise_scale: the 'tokens' family does not "
                       "read it"):
        load_policy('tokens', tmp_path, settings=tokens)
