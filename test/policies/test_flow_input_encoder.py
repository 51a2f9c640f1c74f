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


def _spec_224(cameras: tuple[str, ...]) -> PolicySpec:
    return PolicySpec(joint_names=DEFAULT_SPEC.joint_names, camera_names=cameras,
                      image_height=224, image_width=224, chunk_length=10, dt_s=0.1)


@pytest.mark.parametrize('shape', [(480, 640), (720, 1280), (64, 64), (300, 200), (225, 224)])
def test_other_sizes_are_letterboxed_within_one_level_of_openpi(tmp_path: Path,
                                                                 shape: tuple[int, int]) -> None:
    """Frames of another size: the processor's pixels of a letterbox within 1 of openpi's.

    The encoder's uint8 resize feeds the table; the reference is the processor on
    ``letterbox(exact=True)`` (openpi's float64 ``resize_with_pad``). Every pixel value must be
    the processor's value of a uint8 within 1 of openpi's, the bars exactly black's.
    """
    from vla_ros.core.images import letterbox, letterbox_geometry

    checkpoint = create_random_checkpoint(tmp_path / 'flow224', _spec_224(('a', 'b')), seed=0,
                                          home_positions=DEFAULT_HOME_POSITIONS,
                                          motion_std=DEFAULT_MOTION_STD)
    hf_processor = PI0Processor.from_pretrained(checkpoint, local_files_only=True)
    encoder = InputEncoder(hf_processor, height=224, width=224, cameras=2)
    assert encoder.uses_table
    rng = np.random.default_rng(shape[0])
    images = list(rng.integers(0, 256, (2, *shape, 3), dtype=np.uint8))
    images[1][:] = images[1][:, :1]  # smooth rows too: a flat colour must come out exact

    encoded = encoder.encode(images, 'pick up the red cube')

    exact = [letterbox(image, height=224, width=224, exact=True) for image in images]
    expected = _reference(hf_processor, exact, 'pick up the red cube')
    for key in ('input_ids', 'attention_mask', 'pixel_attention_mask'):
        assert torch.equal(encoded[key], expected[key]), key
    pixels = encoded['pixel_values'][0].numpy()  # (C, 3, H, W)
    table = np.stack([np.asarray(_reference(hf_processor, [np.full((224, 224, 3), value,
                                                                 np.uint8)] * 2,
                                           'x')['pixel_values'][0, 0, :, 0, 0])
                      for value in range(256)], axis=1)  # (3, 256)
    differing = 0
    for slot, image in enumerate(exact):
        for channel in range(3):
            levels = np.searchsorted(table[channel], pixels[slot, channel])
            assert np.array_equal(table[channel][levels], pixels[slot, channel])  # table values
            offset = levels.astype(int) - image[..., channel]
            assert np.abs(offset).max() <= 1, (slot, channel)
            differing += int(np.count_nonzero(offset))
        rows, cols, top, left = letterbox_geometry(images[slot], height=224, width=224)
        if (rows, cols) != (224, 224):  # (64x64 fills the square; the others have bars)
            bars = np.ones((224, 224), bool)
            bars[top:top + rows, left:left + cols] = False
            assert (levels[bars] == 0).all()  # (the last channel's levels)
    assert differing <= 0.25 * pixels.size


def test_processor_names_the_camera_of_an_unusable_frame(tmp_path: Path) -> None:
    from vla_ros.core.errors import InputError
    from vla_ros.core.types import Observation
    from vla_ros.policies.flow.model import load

    checkpoint = create_random_checkpoint(tmp_path / 'flow224', _spec_224(('a', 'b')), seed=0,
                                          home_positions=DEFAULT_HOME_POSITIONS,
                                          motion_std=DEFAULT_MOTION_STD)
    policy = load(checkpoint, 'cpu')
    good = np.zeros((480, 640, 3), np.uint8)
    sliver = np.zeros((1, 2000, 3), np.uint8)  # fitted into 224x224: no rows left
    observation = Observation(images={'a': good, 'b': sliver},
                              joint_names=DEFAULT_SPEC.joint_names,
                              joint_positions=np.array(DEFAULT_HOME_POSITIONS),
                              instruction='pick up the red cube')
    with pytest.raises(InputError, match="camera 'b'.*empty picture"):
        policy.processor.prepare(observation)


def test_float_passes_replace_the_table_only_where_bit_identical(flow_checkpoint: Path) -> None:
    """SigLIP's rescale and normalise run as torch passes; another processor keeps the table."""
    hf_processor = PI0Processor.from_pretrained(flow_checkpoint, local_files_only=True)
    encoder = InputEncoder(hf_processor, height=64, width=64, cameras=2)
    assert encoder._chain is not None  # the test checkpoint's processor: the fast passes
    _assert_same_as_processor(encoder, hf_processor, cameras=2, side=64, seed=4)
    gathered = InputEncoder(hf_processor, height=64, width=64, cameras=2)
    object.__setattr__(gathered, '_chain', None)  # the table gather everywhere
    rng = np.random.default_rng(6)
    for shape in ((48, 80), (120, 90), (64, 200)):  # resized: the passes run on these
        images = list(rng.integers(0, 256, (2, *shape, 3), dtype=np.uint8))
        assert torch.equal(encoder.encode(images, 'x')['pixel_values'],
                           gathered.encode(images, 'x')['pixel_values']), shape

    hf_processor.image_processor.do_normalize = False  # values in [0, 1]: the chain is wrong
    unnormalised = InputEncoder(hf_processor, height=64, width=64, cameras=2)
    assert unnormalised.uses_table and unnormalised._chain is None
    _assert_same_as_processor(unnormalised, hf_processor, cameras=2, side=64, seed=5)
