# SPDX-License-Identifier: Apache-2.0
# Copyright 2026 The vla_ros authors
"""Letterboxing: any camera resolution fits the model's size with its aspect kept, as openpi."""

from __future__ import annotations

import numpy as np
import pytest

from vla_ros.core.errors import InputError
from vla_ros.core.images import letterbox


def test_640x480_becomes_224x224_with_black_bars_above_and_below() -> None:
    frame = np.zeros((480, 640, 3), dtype=np.uint8)
    frame[:, :320] = (200, 10, 30)  # left half
    frame[:, 320:] = (0, 90, 250)  # right half
    boxed = letterbox(frame, height=224, width=224)
    # By hand: scale 224 / 640 = 0.35, so 640x480 -> 224x168; (224 - 168) / 2 = 28 black rows
    # at the top and at the bottom. Column 111 samples source x = 111.5 / 0.35 - 0.5 = 318.1
    # (between columns 318 and 319, both left), column 112 samples 321.4 (both right): no
    # blend, two exact halves of 112 columns.
    expected = np.zeros((224, 224, 3), dtype=np.uint8)
    expected[28:196, :112] = (200, 10, 30)
    expected[28:196, 112:] = (0, 90, 250)
    assert boxed.shape == (224, 224, 3) and boxed.dtype == np.uint8
    np.testing.assert_array_equal(boxed, expected)


def test_a_gradient_is_resampled_bilinearly_with_half_pixel_centres() -> None:
    frame = np.repeat(np.arange(0, 250, 10, dtype=np.uint8)[None, :, None], 3, axis=2)  # 1x25
    frame = np.repeat(frame, 5, axis=0)  # 5 rows x 25 columns, value 10 * column
    boxed = letterbox(frame, height=2, width=10)
    # scale 25 / 10: column j samples x = 2.5 j + 0.75, value 10 x (rounded); 5x25 -> 10x2.
    expected_row = np.round(10 * (2.5 * np.arange(10) + 0.75))
    np.testing.assert_array_equal(boxed[:, :, 0], np.stack([expected_row] * 2))


def test_portrait_frame_gets_bars_left_and_right() -> None:
    frame = np.full((100, 50, 3), 77, dtype=np.uint8)
    boxed = letterbox(frame, height=56, width=56)
    assert np.all(boxed[:, 14:42] == 77)  # 50x100 -> 28x56, 14 columns each side
    assert np.all(boxed[:, :14] == 0) and np.all(boxed[:, 42:] == 0)


def test_odd_padding_puts_the_extra_pixel_at_the_bottom() -> None:
    boxed = letterbox(np.full((10, 20, 3), 9, dtype=np.uint8), height=13, width=20)
    assert [bool(np.all(row == 9)) for row in boxed] == [False] + [True] * 10 + [False] * 2


def test_an_image_of_the_target_size_passes_unchanged_and_uncopied() -> None:
    frame = np.random.default_rng(0).integers(0, 256, (64, 64, 3), dtype=np.uint8)
    assert letterbox(frame, height=64, width=64) is frame


def test_upscaling_a_small_camera_keeps_flat_colour_exact() -> None:
    boxed = letterbox(np.full((24, 32, 3), 130, dtype=np.uint8), height=224, width=224)
    assert np.all(boxed[28:196] == 130) and np.all(boxed[:28] == 0) and np.all(boxed[196:] == 0)


@pytest.mark.parametrize('image', [
    np.zeros((4, 4), np.uint8), np.zeros((4, 4, 4), np.uint8), np.zeros((4, 4, 3), np.float32),
    np.zeros((0, 4, 3), np.uint8)], ids=['mono-2d', 'rgba', 'float', 'empty'])
def test_a_non_rgb_image_is_input_error(image: np.ndarray) -> None:
    with pytest.raises(InputError, match=r'letterbox: expected a non-empty uint8 \(H, W, 3\)'):
        letterbox(image, height=8, width=8)


def test_an_aspect_too_extreme_to_keep_is_input_error_not_a_crash() -> None:
    # 7x300 into 30x40 keeps its aspect only at 0x40: nothing would be left of the picture.
    with pytest.raises(InputError, match=r'keeps its aspect only at 0x40 pixels'):
        letterbox(np.zeros((7, 300, 3), np.uint8), height=30, width=40)
