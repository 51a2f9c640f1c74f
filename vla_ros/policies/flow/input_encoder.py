# SPDX-License-Identifier: Apache-2.0
# Copyright 2026 The vla_ros authors
"""Camera frames -> ``PI0Processor``'s tensors, cheap for the per-cycle path (issue 16).

The processor's image side (resize to the size the image already has, rescale, normalise)
maps each uint8 value of each channel to one float, so it is a 3 x 256 table: ``InputEncoder``
reads that table off the processor itself, by running it on probe images that hold every
value, and then checks the table against the processor on random images, exactly. Only when
both hold does it use the table (one gather per channel instead of the processor's several
float passes and per-image Python); otherwise every call letterboxes (``policies.frames``)
and goes to the processor. The tokens of a prompt depend only on the instruction (the camera
count and image size are fixed), so they are kept for the last instruction.

Frames of another size than the model's are letterboxed as every family does
(``vla_ros.policies.frames``); with the table, straight into channel planes
(``resize_planes``), which the table (or its float passes, ``_FloatChain``) then maps into the
padded slot of the pixel tensor, the bars getting the table's value of black.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any, TYPE_CHECKING

import numpy as np
from numpy.typing import NDArray
import torch

from vla_ros.core.images import letterbox_geometry
from vla_ros.policies.frames import letterbox, resize_planes

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
        self._height, self._width, self._cameras = height, width, cameras
        self._tokens: tuple[str, EncodedInputs] | None = None
        self._table = _probe_table(self._call_processor, height=height, width=width,
                                   cameras=cameras)
        self._chain = None if self._table is None else _FloatChain.matching(
            hf_processor, self._table)

    @property
    def pixel_table(self) -> NDArray[np.floating[Any]] | None:
        """(3, 256) the model-input value of each uint8 value per channel; None without one."""
        return self._table

    @property
    def uses_table(self) -> bool:
        """Whether pixels come from the lookup table (False: from the processor each call)."""
        return self._table is not None

    def encode(self, images: Sequence[NDArray[np.uint8]], instruction: str) -> EncodedInputs:
        """``input_ids``, ``attention_mask``, ``pixel_values``, ``pixel_attention_mask``.

        Args:
            images: one (H, W, 3) uint8 RGB image per camera, of any size (letterboxed to the
                model's on the way).
            instruction: the normalised instruction.

        Raises:
            InputError: an image ``letterbox`` refuses.
        """
        if self._table is None:
            return self._call_processor([letterbox(image, height=self._height,
                                                   width=self._width) for image in images],
                                        instruction)
        pixel_values = self._pixels(self._table, images)
        cached = self._tokens
        if cached is None or cached[0] != instruction:  # the tokens of black frames: the same
            black = [np.zeros((self._height, self._width, 3), np.uint8)] * self._cameras
            encoded = self._call_processor(black, instruction)
            cached = (instruction, {key: encoded[key] for key in _TOKEN_KEYS})
            self._tokens = cached
        encoded = {key: value.clone() for key, value in cached[1].items()}
        encoded['pixel_values'] = pixel_values
        return encoded

    def _pixels(self, table: NDArray[np.floating[Any]],
                images: Sequence[NDArray[np.uint8]]) -> torch.Tensor:
        """(1, C, 3, H, W) pixel values: each frame letterboxed into its slot, then mapped."""
        height, width = self._height, self._width
        pixel_values = torch.empty((1, len(images), 3, height, width),
                                   dtype=torch.from_numpy(table[:, :1]).dtype)
        for slot, image in zip(pixel_values[0], images):
            rows, cols, top, left = letterbox_geometry(image, height=height, width=width)
            target = slot[:, top:top + rows, left:left + cols]
            if image.shape[:2] == (height, width):  # (H, W, 3) as (3, H, W) planes: a view
                frame = torch.from_numpy(image if image.flags.writeable else image.copy()
                                         ).permute(2, 0, 1)
            else:
                frame = resize_planes(image, rows, cols)  # contiguous planes
                black = torch.from_numpy(table[:, :1, None])
                slot[:, :top].copy_(black)  # the bars: black (one pair of the two is empty)
                slot[:, top + rows:].copy_(black)
                slot[:, :, :left].copy_(black)
                slot[:, :, left + cols:].copy_(black)
                if self._chain is not None:  # (on the strided view of a frame: slower)
                    self._chain.apply(frame, target)
                    continue
            planes, out = frame.numpy(), target.numpy()
            for channel in range(3):
                np.take(table[channel], planes[channel], out=out[channel], mode='clip')
        return pixel_values

    def _call_processor(self, images: Sequence[NDArray[np.uint8]],
                        instruction: str) -> EncodedInputs:
        encoded = self._hf_processor(images=[list(images)], text=instruction,
                                     input_data_format='channels_last', return_tensors='pt')
        return {key: encoded[key] for key in (*_TOKEN_KEYS, 'pixel_values')}


@dataclass(frozen=True, slots=True)
class _FloatChain:
    """The processor's rescale and normalisation as three float32 torch passes, where exact.

    ``(value / divisor - mean) / std`` per channel, with the divisor ``1 / rescale_factor``
    and the processor's mean and std: half the time of the table gather on resized planes
    (on a frame's strided channel view the gather is faster, and stays). Used only when it
    gives the table's float for every one of the 256 values; the same IEEE operations then
    give the same bits on any image.
    """

    divisor: float
    mean: torch.Tensor  # (3, 1, 1) float32
    std: torch.Tensor  # (3, 1, 1) float32

    def apply(self, planes: torch.Tensor, out: torch.Tensor) -> None:
        """Write the values of uint8 ``planes`` (3, h, w) into float32 ``out`` (3, h, w)."""
        out.copy_(planes)
        out.div_(self.divisor)
        out.sub_(self.mean)
        out.div_(self.std)

    @classmethod
    def matching(cls, hf_processor: Any,
                 table: NDArray[np.floating[Any]]) -> _FloatChain | None:
        """The chain of ``hf_processor``'s image settings if it reproduces ``table``, else None."""
        settings: Any = getattr(hf_processor, 'image_processor', None)
        try:
            chain = cls(float(np.float32(1.0 / float(settings.rescale_factor))),
                        torch.tensor(settings.image_mean, dtype=torch.float32).reshape(3, 1, 1),
                        torch.tensor(settings.image_std, dtype=torch.float32).reshape(3, 1, 1))
        except (AttributeError, TypeError, ValueError, RuntimeError, ZeroDivisionError):
            return None  # not a rescale-and-normalise processor: the table gather stays
        if table.dtype != np.float32:
            return None
        values = torch.arange(256, dtype=torch.uint8).expand(3, 1, 256)
        out = torch.empty((3, 1, 256), dtype=torch.float32)
        chain.apply(values, out)
        return chain if np.array_equal(out[:, 0].numpy(), table) else None


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
