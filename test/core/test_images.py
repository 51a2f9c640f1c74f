# SPDX-License-Identifier: Apache-2.0
# Copyright 2026 The vla_ros authors
"""Image decoding: raw encodings to exact RGB values, padded rows, compressed bytes, refusals."""

from __future__ import annotations

import io

import numpy as np
from numpy.testing import assert_array_equal
from numpy.typing import NDArray
from PIL import Image
import pytest

from vla_ros.core.errors import InputError
from vla_ros.core.images import (
    decode_compressed_image,
    decode_image,
    encode_rgb8,
    require_size,
    SUPPORTED_ENCODINGS,
)

#: A 2 x 3 RGB image whose every channel value differs, so any channel or pixel mix-up shows.
RGB = np.array([[[255, 0, 0], [0, 255, 0], [0, 0, 255]],
                [[10, 20, 30], [40, 50, 60], [70, 80, 90]]], dtype=np.uint8)
ALPHA = np.full((2, 3, 1), 128, dtype=np.uint8)

#: encoding -> the same picture laid out in that encoding's channel order.
RAW_PIXELS = {
    'rgb8': RGB,
    'bgr8': RGB[:, :, ::-1],
    'rgba8': np.concatenate([RGB, ALPHA], axis=2),
    'bgra8': np.concatenate([RGB[:, :, ::-1], ALPHA], axis=2),
}


def _fields(pixels: NDArray[np.uint8], *, padding: int = 0) -> dict[str, object]:
    """Height, width, step and data of ``pixels`` with ``padding`` junk bytes after each row."""
    height, width = pixels.shape[:2]
    rows = pixels.reshape(height, -1)
    junk = np.full((height, padding), 0xEE, dtype=np.uint8)
    return {'height': height, 'width': width, 'step': rows.shape[1] + padding,
            'data': np.concatenate([rows, junk], axis=1).tobytes()}


def _compressed(pixels: NDArray[np.uint8], image_format: str) -> bytes:
    """PNG or JPEG bytes; Pillow takes the mode from the shape: (H, W) L, (H, W, 4) RGBA."""
    buffer = io.BytesIO()
    Image.fromarray(pixels).save(buffer, format=image_format)
    return buffer.getvalue()


@pytest.mark.parametrize('encoding', list(RAW_PIXELS), ids=list(RAW_PIXELS))
@pytest.mark.parametrize('padding', [0, 5], ids=['packed', 'padded-rows'])
def test_colour_encodings_decode_to_the_rgb_values(encoding: str, padding: int) -> None:
    image = decode_image(encoding=encoding, **_fields(RAW_PIXELS[encoding], padding=padding))
    assert image.dtype == np.uint8
    assert_array_equal(image, RGB)


@pytest.mark.parametrize('padding', [0, 3], ids=['packed', 'padded-rows'])
def test_mono8_is_replicated_to_three_equal_channels(padding: int) -> None:
    grey = np.array([[0, 7, 255], [100, 200, 50]], dtype=np.uint8)
    image = decode_image(encoding='mono8', **_fields(grey[:, :, None], padding=padding))
    assert_array_equal(image, np.stack([grey, grey, grey], axis=2))


def test_decoded_image_is_a_writable_copy_of_the_message_data() -> None:
    data = bytearray(RGB.tobytes())
    image = decode_image(encoding='rgb8', height=2, width=3, step=9, data=data)
    image[0, 0] = (1, 2, 3)
    data[0] = 77
    assert image.flags.writeable
    assert tuple(image[0, 0]) == (1, 2, 3)
    assert data[0] == 77


def test_extra_bytes_after_the_last_row_are_ignored() -> None:
    image = decode_image(encoding='rgb8', height=2, width=3, step=9,
                         data=RGB.tobytes() + b'\x01\x02')
    assert_array_equal(image, RGB)


def test_supported_encodings_are_exactly_those_tested() -> None:
    assert set(SUPPORTED_ENCODINGS) == {*RAW_PIXELS, 'mono8'}


@pytest.mark.parametrize(('fields', 'match'), [
    ({'encoding': 'yuv422'}, r"unsupported encoding 'yuv422'"),
    ({'encoding': 'rgb16'}, r"unsupported encoding 'rgb16'"),
    ({'encoding': 'bayer_rggb8'}, r"unsupported encoding 'bayer_rggb8'"),
    ({'data': RGB.tobytes()[:-1]}, r'17 data bytes, expected step \* height = 18'),
    ({'data': b''}, r'0 data bytes'),
    ({'height': 0}, r'bad geometry height=0'),
    ({'width': -3}, r'bad geometry height=2 width=-3'),
    ({'step': 8}, r'bad geometry .* step=8 for rgb8 \(3 bytes per pixel\)'),
], ids=['yuv422', 'rgb16', 'bayer', 'one-byte-short', 'empty-data', 'zero-height',
        'negative-width', 'step-below-row-size'])
def test_undecodable_raw_image_raises_input_error(fields: dict[str, object], match: str) -> None:
    message = {'encoding': 'rgb8', 'height': 2, 'width': 3, 'step': 9, 'data': RGB.tobytes()}
    message.update(fields)
    with pytest.raises(InputError, match=match):
        decode_image(**message, where='camera/front/image_raw')  # type: ignore[arg-type]


def test_input_error_names_the_source() -> None:
    with pytest.raises(InputError, match=r'^camera/front/image_raw: unsupported'):
        decode_image(encoding='yuv422', height=2, width=3, step=9, data=RGB.tobytes(),
                     where='camera/front/image_raw')


def test_png_decodes_to_the_exact_rgb_values() -> None:
    assert_array_equal(decode_compressed_image(_compressed(RGB, 'PNG')), RGB)


@pytest.mark.parametrize(('pixels', 'expected'), [
    (np.array([[0, 90, 255]], dtype=np.uint8),
     np.array([[[0, 0, 0], [90, 90, 90], [255, 255, 255]]], dtype=np.uint8)),
    (np.concatenate([RGB, ALPHA], axis=2), RGB),
], ids=['greyscale', 'rgba'])
def test_png_in_other_modes_decodes_to_rgb(pixels: NDArray[np.uint8],
                                           expected: NDArray[np.uint8]) -> None:
    assert_array_equal(decode_compressed_image(_compressed(pixels, 'PNG')), expected)


def test_jpeg_of_a_flat_colour_decodes_close_to_that_colour() -> None:
    flat = np.broadcast_to(np.array([200, 40, 90], dtype=np.uint8), (16, 24, 3)).copy()
    image = decode_compressed_image(_compressed(flat, 'JPEG'))
    assert image.shape == (16, 24, 3)
    assert image.dtype == np.uint8
    # JPEG is lossy (colour subsampling, quantisation) but a flat colour survives closely.
    assert np.abs(image.astype(int) - flat.astype(int)).max() <= 4


@pytest.mark.parametrize('data', [
    b'',
    b'not an image at all',
    _compressed(RGB, 'PNG')[:40],
    _compressed(np.zeros((32, 32, 3), dtype=np.uint8), 'JPEG')[:200],
], ids=['empty', 'garbage', 'truncated-png', 'truncated-jpeg'])
def test_undecodable_compressed_bytes_raise_input_error(data: bytes) -> None:
    with pytest.raises(InputError, match=r'^camera wrist: cannot decode compressed image'):
        decode_compressed_image(data, where='camera wrist')


def test_require_size_accepts_the_configured_size_and_names_both_sizes_otherwise() -> None:
    require_size(RGB, height=2, width=3, where='front')
    with pytest.raises(InputError, match=r'^front: image is 3x2 \(WxH\), expected 64x48$'):
        require_size(RGB, height=48, width=64, where='front')


def test_encode_rgb8_round_trips_through_decode() -> None:
    height, width, step, data = encode_rgb8(RGB)
    assert (height, width, step) == (2, 3, 9)
    assert_array_equal(
        decode_image(encoding='rgb8', height=height, width=width, step=step, data=data), RGB)


def test_encode_rgb8_refuses_a_non_rgb_array() -> None:
    with pytest.raises(InputError, match=r'encode_rgb8: expected uint8 \(H, W, 3\)'):
        encode_rgb8(RGB.astype(np.float32))
