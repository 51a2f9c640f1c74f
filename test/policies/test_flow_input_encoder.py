# SPDX-License-Identifier: Apache-2.0
# Copyright 2026 The vla_ros authors
"""``InputEncoder`` gives exactly what transformers' ``PI0Processor`` gives (issue 16 item 2).

Exact: every tensor equal (``torch.equal``: same dtype, shape and bits), for the test
checkpoint's processor (64x64, two cameras), a three-camera 224x224 one, and a processor whose
image side is not a per-value map (it resizes), which must fall back to the processor.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
import torch
from transformers import PI0Processor

from vla_ros.core.policy import PolicySpec
from vla_ros.policies.flow.checkpoint import (
    create_random_checkpoint,
    DEFAULT_HOME_POSITIONS,
    DEFAULT_MOTION_STD,
    DEFAULT_SPEC,
)
from vla_ros.policies.flow.input_encoder import InputEncoder

_INSTRUCTIONS = ('pick up the red cube', 'pick up the red cube', 'touch the green cube',
                 'pick up the red cube', 'open the gripper', 'open the gripper')


def _reference(hf_processor: PI0Processor, images: list[np.ndarray],
               instruction: str) -> dict[str, torch.Tensor]:
    encoded = hf_processor(images=[images], text=instruction, input_data_format='channels_last',
                           return_tensors='pt')
    return {key: encoded[key] for key in
            ('input_ids', 'attention_mask', 'pixel_values', 'pixel_attention_mask')}


def _assert_same_as_processor(encoder: InputEncoder, hf_processor: PI0Processor, *,
                              cameras: int, side: int, seed: int) -> None:
    rng = np.random.default_rng(seed)
    for instruction in _INSTRUCTIONS:
        images = list(rng.integers(0, 256, (cameras, side, side, 3), dtype=np.uint8))
        encoded = encoder.encode(images, instruction)
        expected = _reference(hf_processor, images, instruction)
        assert sorted(encoded) == sorted(expected)
        for key, tensor in expected.items():
            assert torch.equal(encoded[key], tensor), (instruction, key)


def test_test_checkpoint_pixels_come_from_the_table_and_equal_the_processor(
        flow_checkpoint: Path) -> None:
    hf_processor = PI0Processor.from_pretrained(flow_checkpoint, local_files_only=True)
    encoder = InputEncoder(hf_processor, height=DEFAULT_SPEC.image_height,
                           width=DEFAULT_SPEC.image_width, cameras=len(DEFAULT_SPEC.camera_names))
    assert encoder.uses_table
    _assert_same_as_processor(encoder, hf_processor, cameras=2, side=64, seed=1)


def test_three_cameras_at_224_equal_the_processor(tmp_path: Path) -> None:
    spec = PolicySpec(joint_names=DEFAULT_SPEC.joint_names,
                      camera_names=('front', 'wrist', 'side'), image_height=224,
                      image_width=224, chunk_length=10, dt_s=0.1)
    checkpoint = create_random_checkpoint(tmp_path / 'flow224', spec, seed=0,
                                          home_positions=DEFAULT_HOME_POSITIONS,
                                          motion_std=DEFAULT_MOTION_STD)
    hf_processor = PI0Processor.from_pretrained(checkpoint, local_files_only=True)
    encoder = InputEncoder(hf_processor, height=224, width=224, cameras=3)
    assert encoder.uses_table
    _assert_same_as_processor(encoder, hf_processor, cameras=3, side=224, seed=2)


def test_a_resizing_processor_is_called_every_time_and_still_matches(
        flow_checkpoint: Path) -> None:
    hf_processor = PI0Processor.from_pretrained(flow_checkpoint, local_files_only=True)
    hf_processor.image_processor.size = {'height': 32, 'width': 32}  # 64x64 -> 32x32: mixes
    encoder = InputEncoder(hf_processor, height=64, width=64, cameras=2)
    assert not encoder.uses_table
    _assert_same_as_processor(encoder, hf_processor, cameras=2, side=64, seed=3)


@pytest.mark.parametrize('side', [8, 10], ids=['too_few_pixels', 'odd_side'])
def test_small_images_fall_back_or_match(flow_checkpoint: Path, side: int) -> None:
    hf_processor = PI0Processor.from_pretrained(flow_checkpoint, local_files_only=True)
    hf_processor.image_processor.size = {'height': side, 'width': side}
    encoder = InputEncoder(hf_processor, height=side, width=side, cameras=2)
    assert encoder.uses_table == (2 * side * side >= 256)
    _assert_same_as_processor(encoder, hf_processor, cameras=2, side=side, seed=side)
