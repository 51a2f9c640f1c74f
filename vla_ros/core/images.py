# SPDX-License-Identifier: Apache-2.0
# Copyright 2026 The vla_ros authors
"""Camera images as numpy arrays: decoding `sensor_msgs/Image` fields and compressed bytes.

Everything a policy sees is (H, W, 3) uint8 RGB. Decoding works on the message's plain fields
(no rclpy here), honours the row stride ``step`` and refuses what it cannot read exactly.
"""

from __future__ import annotations

import io

import numpy as np
from numpy.typing import NDArray

from vla_ros.core.errors import InputError

__all__ = ['SUPPORTED_ENCODINGS', 'decode_compressed_image', 'decode_image', 'encode_rgb8',
           'require_size']

#: encoding -> (channels, index of R, G, B within a pixel); mono is replicated to RGB.
_LAYOUTS: dict[str, tuple[int, tuple[int, int, int]]] = {
    'rgb8': (3, (0, 1, 2)),
    'bgr8': (3, (2, 1, 0)),
    'rgba8': (4, (0, 1, 2)),
    'bgra8': (4, (2, 1, 0)),
    'mono8': (1, (0, 0, 0)),
}
SUPPORTED_ENCODINGS = tuple(_LAYOUTS)


def decode_image(*, encoding: str, height: int, width: int, step: int,
                 data: bytes | memoryview, where: str = 'image') -> NDArray[np.uint8]:
    """Decode raw image fields into a (height, width, 3) uint8 RGB array (a copy).

    Args:
        encoding: the `sensor_msgs/Image` encoding; one of ``SUPPORTED_ENCODINGS``.
        height: rows.
        width: columns.
        step: bytes per row, >= width * channels (rows may be padded).
        data: the pixel bytes, at least ``step * height`` of them.
        where: names the source (topic or camera) in error messages.

    Raises:
        InputError: unsupported encoding, or sizes that do not fit the data.
    """
    if encoding not in _LAYOUTS:
        raise InputError(
            f'{where}: unsupported encoding {encoding!r}; expected one of {SUPPORTED_ENCODINGS}')
    channels, rgb_index = _LAYOUTS[encoding]
    if height <= 0 or width <= 0 or step < width * channels:
        raise InputError(
            f'{where}: bad geometry height={height} width={width} step={step} '
            f'for {encoding} ({channels} bytes per pixel)')
    buffer = np.frombuffer(data, dtype=np.uint8)
    if buffer.size < step * height:
        raise InputError(
            f'{where}: {buffer.size} data bytes, expected step * height = {step * height}')
    rows = buffer[:step * height].reshape(height, step)
    pixels = rows[:, :width * channels].reshape(height, width, channels)
    return np.ascontiguousarray(pixels[:, :, list(rgb_index)])


def decode_compressed_image(data: bytes | memoryview, *,
                            where: str = 'image') -> NDArray[np.uint8]:
    """Decode JPEG or PNG bytes (`sensor_msgs/CompressedImage`) into (H, W, 3) uint8 RGB.

    Raises:
        InputError: the bytes are not an image Pillow can read.
    """
    from PIL import Image, UnidentifiedImageError  # only the compressed path needs Pillow

    try:
        with Image.open(io.BytesIO(bytes(data))) as image:
            return np.asarray(image.convert('RGB'), dtype=np.uint8).copy()
    except (UnidentifiedImageError, OSError, ValueError) as err:
        raise InputError(f'{where}: cannot decode compressed image: {err}') from err


def require_size(image: NDArray[np.uint8], *, height: int, width: int, where: str) -> None:
    """Raise InputError unless ``image`` is exactly height x width."""
    if image.shape[:2] != (height, width):
        raise InputError(
            f'{where}: image is {image.shape[1]}x{image.shape[0]} (WxH), '
            f'expected {width}x{height}')


def encode_rgb8(image: NDArray[np.uint8]) -> tuple[int, int, int, bytes]:
    """Return (height, width, step, data) of an (H, W, 3) uint8 image as rgb8 fields."""
    if image.dtype != np.uint8 or image.ndim != 3 or image.shape[2] != 3:
        raise InputError(f'encode_rgb8: expected uint8 (H, W, 3), got {image.dtype} {image.shape}')
    height, width = image.shape[:2]
    return height, width, width * 3, np.ascontiguousarray(image).tobytes()
