# SPDX-License-Identifier: Apache-2.0
# Copyright 2026 The vla_ros authors
"""transformers' ``PI0Processor`` call, made cheap for the per-cycle path (issue 16 item 2).

The processor's image side (resize to the size the image already has, rescale, normalise)
maps each uint8 value of each channel to one float, so it is a 3 x 256 table: ``InputEncoder``
reads that table off the processor itself, by running it on probe images that hold every
value, and then checks the table against the processor on random images, exactly. Only when
both hold does it use the table (one gather per channel instead of the processor's several
float passes and per-image Python); otherwise every call goes to the processor. The tokens of
a prompt depend only on the instruction (the camera count is fixed), so they are kept for the
last instruction; a new instruction goes through the processor in full.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any, TYPE_CHECKING

import numpy as np
from numpy.typing import NDArray
import torch

if TYPE_CHECKING:
    from transformers import PI0Processor

__all__ = ['EncodedInputs', 'InputEncoder']

#: The processor's outputs that ``FlowProcessor.prepare`` uses.
EncodedInputs = dict[str, torch.Tensor]
_TOKEN_KEYS = ('input_ids', 'attention_mask', 'pixel_attention_mask')


class InputEncoder:
    """Pixels and tokens as ``PI0Processor`` gives them, from a lookup table where exact.

    Args:
        hf_processor: the checkpoint's processor.
        height: rows of every (already letterboxed) camera image, pixels.
        width: columns of every camera image, pixels.
        cameras: images per observation.
    """

    def __init__(self, hf_processor: PI0Processor, *, height: int, width: int,
                 cameras: int) -> None:
        self._hf_processor = hf_processor
        self._tokens: tuple[str, EncodedInputs] | None = None
        self._table = _probe_table(self._call_processor, height=height, width=width,
                                   cameras=cameras)

    @property
    def uses_table(self) -> bool:
        """Whether pixels come from the lookup table (False: from the processor each call)."""
        return self._table is not None

    def encode(self, images: Sequence[NDArray[np.uint8]], instruction: str) -> EncodedInputs:
        """``input_ids``, ``attention_mask``, ``pixel_values``, ``pixel_attention_mask``.

        Args:
            images: one (H, W, 3) uint8 RGB image per camera, at the model's size.
            instruction: the normalised instruction.
        """
        cached = self._tokens
        if self._table is None or cached is None or cached[0] != instruction:
            encoded = self._call_processor(images, instruction)
            self._tokens = (instruction, {key: encoded[key] for key in _TOKEN_KEYS})
            return encoded
        encoded = {key: value.clone() for key, value in cached[1].items()}
        encoded['pixel_values'] = torch.from_numpy(_look_up(self._table, images))
        return encoded

    def _call_processor(self, images: Sequence[NDArray[np.uint8]],
                        instruction: str) -> EncodedInputs:
        encoded = self._hf_processor(images=[list(images)], text=instruction,
                                     input_data_format='channels_last', return_tensors='pt')
        return {key: encoded[key] for key in (*_TOKEN_KEYS, 'pixel_values')}


def _look_up(table: NDArray[np.floating[Any]],
             images: Sequence[NDArray[np.uint8]]) -> NDArray[np.floating[Any]]:
    """(1, C, 3, H, W) pixel values of C (H, W, 3) images: one gather per colour channel.

    ``np.take`` reads each channel's plane through a strided view and writes the result in
    place (no fancy-index temporaries): 1.4x faster than ``table[c][stacked[..., c]]``.
    """
    planar = np.stack(images).transpose(0, 3, 1, 2)  # (C, 3, H, W), a view
    pixel_values = np.empty((1, *planar.shape), dtype=table.dtype)
    for channel in range(3):
        np.take(table[channel], planar[:, channel], out=pixel_values[0, :, channel])
    return pixel_values


def _probe_table(call: Any, *, height: int, width: int,
                 cameras: int) -> NDArray[np.floating[Any]] | None:
    """The (3, 256) value table of the processor's image side, or None where it is not one."""
    if cameras * height * width < 256:
        return None
    values = (np.arange(cameras * height * width) % 256).astype(np.uint8)
    probes = np.repeat(values.reshape(cameras, height, width, 1), 3, axis=3)
    probed = call(list(probes), 'probe')['pixel_values'].numpy()
    if probed.shape != (1, cameras, 3, height, width):
        return None
    flat = probed[0].transpose(1, 0, 2, 3).reshape(3, -1)  # (3, cameras * height * width)
    table = np.ascontiguousarray(flat[:, :256])
    if not np.array_equal(_look_up(table, list(probes)), probed):
        return None  # the same value maps to different floats: not an elementwise map
    rng = np.random.default_rng(0)
    check = list(rng.integers(0, 256, (cameras, height, width, 3), dtype=np.uint8))
    if not np.array_equal(_look_up(table, check), call(check, 'probe')['pixel_values'].numpy()):
        return None
    return table
