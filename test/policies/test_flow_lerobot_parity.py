# SPDX-License-Identifier: Apache-2.0
# Copyright 2026 The vla_ros authors
"""A LeRobot pi0 folder loaded by the ``flow`` family computes what LeRobot's own pi0 computes.

The parity fixture ``test/fixtures/pi0_reference.npz`` was made by ``tools/make_pi0_fixture.py``
running LeRobot 0.4.4's ``PI0Policy`` and processor pipelines (transformers 4.53.2 with
openpi's patch) on the same miniature folder; its docstring has the command and versions. The
fixture's noise is fed to the samplers directly (``FlowPolicy.infer`` draws its own).
"""

from __future__ import annotations

import hashlib
import json
from pathlib import Path

from lerobot_pi0_folder import (  # the test helper next to this file
    IMAGE_KEYS,
    IMAGE_PX,
    MOTION_STD,
    STATE_MEAN,
    write_paligemma_style_tokenizer,
    write_pi0_folder,
)
import numpy as np
import pytest
import torch
import yaml

from vla_ros.core.config import load_config, VlaConfig
from vla_ros.core.types import Observation
from vla_ros.policies.flow.model import FlowPolicy
from vla_ros.policies.flow.sampler import SampleInputs, SamplerBackend
from vla_ros.policies.registry import load_policy

REPO_ROOT = Path(__file__).resolve().parents[2]
FIXTURE = REPO_ROOT / 'test' / 'fixtures' / 'pi0_reference.npz'
JOINTS = ('joint1', 'joint2', 'joint3', 'joint4', 'joint5', 'joint6', 'gripper_joint')
MAPPING = {
    'inputs': {'cameras': {IMAGE_KEYS[0]: 'front', IMAGE_KEYS[1]: 'wrist',
                           IMAGE_KEYS[2]: None},
               'state': list(JOINTS)},
    'outputs': {'joints': list(JOINTS), 'dt_s': 0.1},
}
CASES = pytest.mark.parametrize('case', [0, 1], ids=['state-within-one-std',
                                                     'state-beyond-min-max'])


@pytest.fixture(scope='module')
def fixture() -> dict[str, np.ndarray]:
    """The reference's arrays."""
    with np.load(FIXTURE) as arrays:
        return dict(arrays)


@pytest.fixture(scope='module')
def policy(tmp_path_factory: pytest.TempPathFactory,
           fixture: dict[str, np.ndarray]) -> FlowPolicy:
    """The miniature, written as the fixture's was, loaded through the config path."""
    root = tmp_path_factory.mktemp('lerobot_pi0_parity')
    vocab_size = write_paligemma_style_tokenizer(root / 'tokenizer')
    folder = write_pi0_folder(root / 'pi0', vocab_size=vocab_size, seed=int(fixture['seed']))
    digest = hashlib.sha256((folder / 'model.safetensors').read_bytes()).hexdigest()
    assert digest == str(fixture['weights_sha256']), 'not the weights the reference ran'
    config = _config(root, folder, root / 'tokenizer')
    loaded = load_policy('flow', config.policy.checkpoint, device=config.policy.device,
                         settings=config.policy)
    assert isinstance(loaded, FlowPolicy)
    return loaded


def _config(root: Path, folder: Path, tokenizer: Path) -> VlaConfig:
    raw = yaml.safe_load((REPO_ROOT / 'config' / 'tabletop_arm.yaml').read_text())
    raw['embodiment']['urdf'] = str(REPO_ROOT / 'urdf' / 'tabletop_arm.urdf')
    raw.pop('sim')
    raw['policy'] = {'family': 'flow', 'checkpoint': str(folder), 'device': 'cpu',
                     'dtype': 'float32', 'tokenizer': str(tokenizer),
                     **json.loads(json.dumps(MAPPING))}
    path = root / 'config' / 'robot.yaml'
    path.parent.mkdir(exist_ok=True)
    path.write_text(yaml.safe_dump(raw))
    return load_config(path)


def _observation(fixture: dict[str, np.ndarray], case: int) -> Observation:
    images = fixture[f'case{case}_images']
    return Observation(images={'front': images[0], 'wrist': images[1]}, joint_names=JOINTS,
                       joint_positions=fixture[f'case{case}_state'].astype(np.float64),
                       instruction=str(fixture[f'case{case}_task']))


def _sample(policy: FlowPolicy, observation: Observation, noise: np.ndarray,
            backend: SamplerBackend) -> torch.Tensor:
    """The normalised chunk of ``backend`` for ``observation``, starting from ``noise``."""
    inputs = policy.processor.prepare(observation)
    noise_tensor = torch.from_numpy(noise)
    steps = policy.config.num_denoising_steps
    sampler = backend.make_sampler(policy.model)
    with torch.inference_mode():
        if sampler is not None:
            return sampler.sample(SampleInputs(
                input_ids=inputs.input_ids, attention_mask=inputs.attention_mask,
                pixel_values=inputs.pixel_values,
                pixel_attention_mask=inputs.pixel_attention_mask, state=inputs.state,
                noise=noise_tensor), num_steps=steps)
        return policy.model.sample_actions(
            state=inputs.state, pixel_values=inputs.pixel_values,
            input_ids=inputs.input_ids,  # type: ignore[arg-type]
            pixel_attention_mask=inputs.pixel_attention_mask,  # type: ignore[arg-type]
            noise=noise_tensor, attention_mask=inputs.attention_mask, num_steps=steps)


def test_the_cases_cover_a_padded_prompt_and_a_state_beyond_the_statistics(
        fixture: dict[str, np.ndarray]) -> None:
    for case in (0, 1):
        assert fixture[f'case{case}_token_mask'].sum() < fixture[f'case{case}_tokens'].shape[1]
    z_scores = [np.abs(fixture[f'case{case}_state'] - np.asarray(STATE_MEAN)) / MOTION_STD
                for case in (0, 1)]
    assert z_scores[0].max() <= 1.0
    assert z_scores[1].min() > 5.0
    assert (z_scores[1] * MOTION_STD).max() > 1.0  # past min/max, mean -/+ 1


@CASES
def test_prompt_tokens_equal_lerobots_after_the_image_tokens(
        policy: FlowPolicy, fixture: dict[str, np.ndarray], case: int) -> None:
    inputs = policy.processor.prepare(_observation(fixture, case))
    input_ids, real = inputs.input_ids[0].numpy(), inputs.attention_mask[0].numpy().astype(bool)
    image_tokens = 2 * (IMAGE_PX // 14) ** 2  # two cameras; LeRobot masks the third
    image_token_id = policy.processor.hf_processor.image_token_id
    np.testing.assert_array_equal(input_ids[:image_tokens], image_token_id)
    assert not np.any(input_ids[image_tokens:] == image_token_id)
    lerobot_mask = fixture[f'case{case}_token_mask'][0]
    lerobot_tokens = fixture[f'case{case}_tokens'][0]
    # Both pad on the right: LeRobot the text to 48, transformers' PI0Processor the whole
    # prompt; the real tokens (<bos>, the task, the newline) are the same.
    assert not np.any(np.diff(lerobot_mask.astype(int)) > 0)
    assert not np.any(np.diff(real.astype(int)) > 0)
    np.testing.assert_array_equal(input_ids[image_tokens:][real[image_tokens:]],
                                  lerobot_tokens[lerobot_mask])
    assert str(fixture[f'case{case}_prompt']).endswith('\n')


@CASES
@pytest.mark.parametrize('backend', [SamplerBackend.EAGER, SamplerBackend.TRANSFORMERS],
                         ids=['our-sampler', 'transformers-sample-actions'])
def test_chunk_equals_lerobots_own_pi0_with_the_same_noise(
        policy: FlowPolicy, fixture: dict[str, np.ndarray], case: int,
        backend: SamplerBackend) -> None:
    normalized = _sample(policy, _observation(fixture, case), fixture[f'case{case}_noise'],
                         backend)
    np.testing.assert_allclose(normalized.numpy(), fixture[f'case{case}_normalized_chunk'],
                               rtol=0, atol=1e-4)
    chunk = policy.processor.to_action_chunk(normalized)
    assert chunk.joint_names == JOINTS
    np.testing.assert_allclose(chunk.positions, fixture[f'case{case}_chunk'], rtol=0, atol=1e-4)
