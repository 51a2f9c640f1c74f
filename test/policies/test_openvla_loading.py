# SPDX-License-Identifier: Apache-2.0
# Copyright 2026 The vla_ros authors
"""OpenVLA's loading path, without an OpenVLA checkpoint: statistics adapter, prompt, decoding.

The decoding runs on a tiny real PaliGemma with transformers' own ``PaliGemmaProcessor``,
whose call convention (``text=``, ``images=``) is the one OpenVLA's ``PrismaticProcessor`` has.
"""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest
import torch
from transformers import PaliGemmaProcessor, SiglipImageProcessorPil

from vla_ros.core.errors import ConfigError, PolicyOutputError
from vla_ros.core.types import Observation
from vla_ros.policies.base import PolicySpec
from vla_ros.policies.registry import load_policy
from vla_ros.policies.tokens.action_tokenizer import BinLayout
from vla_ros.policies.tokens.config import ActionSpace
from vla_ros.policies.tokens.openvla import (
    action_stats,
    CONFIG_FILENAME,
    EMPTY_TOKEN_ID,
    openvla_prompt,
    OpenVlaConfig,
    OpenVlaPolicy,
    STATS_FILENAME,
)
from vla_ros.policies.tokens.vlm import build_text_tokenizer, build_vlm, VlmSize

JOINTS = ('x', 'y', 'z', 'roll', 'pitch', 'yaw', 'gripper')
SPEC = PolicySpec(joint_names=JOINTS, camera_names=('front',), image_height=64,
                  image_width=64, chunk_length=1, dt_s=0.2)
STATISTICS = {
    'bridge_orig': {'action': {'q01': [-0.03, -0.04, -0.02, -0.1, -0.1, -0.2, 0.0],
                               'q99': [0.03, 0.04, 0.03, 0.1, 0.1, 0.2, 1.0],
                               'mask': [True] * 6 + [False]},
                    'proprio': {'q01': [0.0] * 7, 'q99': [1.0] * 7}},
    'fractal20220817_data': {'action': {'q01': [-0.2] * 7, 'q99': [0.2] * 7}},
}


def test_statistics_adapter_selects_the_unnorm_key_with_its_mask() -> None:
    stats = action_stats(STATISTICS, 'bridge_orig')
    assert stats.q01 == tuple(STATISTICS['bridge_orig']['action']['q01'])
    assert stats.mask == (True,) * 6 + (False,)
    assert stats.eps == 0.0  # OpenVLA's arithmetic: 0.5 (x + 1) (q99 - q01) + q01
    unmasked = action_stats({'only': {'action': {'q01': [-1.0, 0.0], 'q99': [1.0, 2.0]}}},
                            None)
    assert unmasked.mask is None
    np.testing.assert_allclose(unmasked.unnormalize([[0.5, -0.5]]), [[0.5, 0.5]])


@pytest.mark.parametrize(('statistics', 'key', 'match'), [
    (STATISTICS, None, r"2 datasets \['bridge_orig', 'fractal20220817_data'\]; set unnorm_key"),
    (STATISTICS, 'libero', r"unnorm_key: 'libero' is not in .*known: \['bridge_orig'"),
    ({'a': {'proprio': {}}}, 'a', r'a.action: missing or not a mapping'),
    ({'a': {'action': {'q01': [0.0], 'q99': [-1.0]}}}, 'a', r'q99\[0\]: -1.0, expected >= q01'),
], ids=['ambiguous', 'unknown-key', 'no-action', 'inverted'])
def test_statistics_adapter_refuses_ambiguous_or_bad_statistics(
        statistics: object, key: str | None, match: str) -> None:
    with pytest.raises(ConfigError, match=match):
        action_stats(statistics, key)


def test_prompt_is_openvlas() -> None:
    assert openvla_prompt('  Touch the Red cube ') == (
        'In: What action should the robot take to touch the red cube?\nOut:')


@pytest.fixture(scope='module')
def policy() -> OpenVlaPolicy:
    """A tiny PaliGemma whose output head only scores the last 256 ids (the action bins)."""
    image_processor = SiglipImageProcessorPil(size={'height': 64, 'width': 64},
                                              image_seq_length=16)
    processor = PaliGemmaProcessor(image_processor=image_processor,
                                   tokenizer=build_text_tokenizer())
    vocab_size = len(processor.tokenizer)
    model = build_vlm(SPEC, text_vocab_size=vocab_size, action_vocab_size=0,
                      image_token_id=processor.image_token_id, seed=3,
                      size=VlmSize(width=32, depth=1, heads=2, head_dim=16, vision_width=16,
                                   vision_depth=1, patch_px=16))
    with torch.no_grad():  # untie the head from the embeddings, then silence the text ids
        head = torch.nn.Parameter(model.lm_head.weight.detach().clone())
        head[:-256] = 0.0
        model.lm_head.weight = head
    config = OpenVlaConfig(spec=SPEC, unnorm_key='bridge_orig')
    return OpenVlaPolicy(model, processor, config, action_stats(STATISTICS, 'bridge_orig'),
                         action_vocab_size=vocab_size, append_empty_token=False,
                         device=torch.device('cpu'))


def _observation() -> Observation:
    image = np.random.default_rng(0).integers(0, 256, (64, 64, 3), dtype=np.uint8)
    return Observation(images={'front': image}, joint_names=JOINTS,
                       joint_positions=np.zeros(7), instruction='Touch the red cube')


def test_inference_generates_one_bin_per_dimension_and_unnormalizes_like_openvla(
        policy: OpenVlaPolicy) -> None:
    observation = _observation()
    inputs = policy.prompt_ids(observation)
    tokenizer = policy.processor.tokenizer  # type: ignore[attr-defined]
    assert 'In: What action should the robot take to touch the red cube?\nOut:' in (
        tokenizer.decode(inputs['input_ids'][0]))
    with torch.inference_mode():
        generated = policy.model.generate(**inputs, max_new_tokens=7, do_sample=False)
    ids = generated[0, -7:].numpy()
    vocab_size = len(tokenizer)
    assert ids.min() >= vocab_size - 256
    # OpenVLA's de-tokenization, written out: bin = V - id, centre of bin - 1 (max 254).
    centers = (np.linspace(-1, 1, 256)[:-1] + np.linspace(-1, 1, 256)[1:]) / 2
    normalized = centers[np.clip(vocab_size - ids - 1, 0, 254)]
    q01 = np.asarray(STATISTICS['bridge_orig']['action']['q01'])
    q99 = np.asarray(STATISTICS['bridge_orig']['action']['q99'])
    expected = np.where([True] * 6 + [False], 0.5 * (normalized + 1) * (q99 - q01) + q01,
                        normalized)
    chunk = policy.infer(observation)
    assert chunk.positions.shape == (1, 7)
    np.testing.assert_allclose(chunk.positions[0], expected, rtol=0, atol=1e-12)


def test_a_generated_text_token_is_policy_output_error(policy: OpenVlaPolicy) -> None:
    tokenizer = policy.action_tokenizer
    assert tokenizer.layout is BinLayout.OPENVLA_EDGES
    ids = tokenizer.vocab_size - 1 - np.array([0, 10, 100, 0, 200, 254, 255])
    ids[3] = 12
    with pytest.raises(PolicyOutputError, match=r'id 12 at position 3 \(step 0, dim 3\)'):
        policy.decode(ids, np.zeros(7))


def test_empty_token_is_appended_after_out(policy: OpenVlaPolicy) -> None:
    appending = OpenVlaPolicy(policy.model, policy.processor,
                              OpenVlaConfig(spec=SPEC, unnorm_key=None,
                                            action_space=ActionSpace.DELTA),
                              action_stats(STATISTICS, 'bridge_orig'),
                              action_vocab_size=1000, append_empty_token=True,
                              device=torch.device('cpu'))
    inputs = appending.prompt_ids(_observation())
    assert int(inputs['input_ids'][0, -1]) == EMPTY_TOKEN_ID
    assert inputs['attention_mask'].shape == inputs['input_ids'].shape


def test_openvla_directory_without_remote_code_is_config_error(tmp_path: Path) -> None:
    (tmp_path / CONFIG_FILENAME).write_text(json.dumps({
        'schema_version': 1, 'unnorm_key': 'bridge_orig', 'action_space': 'absolute',
        'spec': {'joint_names': list(JOINTS), 'camera_names': ['front'], 'image_height': 224,
                 'image_width': 224, 'chunk_length': 1, 'dt_s': 0.2}}))
    (tmp_path / STATS_FILENAME).write_text(json.dumps(STATISTICS))
    with pytest.raises(ConfigError, match='cannot load the OpenVLA model or processor'):
        load_policy('tokens', tmp_path)
