# SPDX-License-Identifier: Apache-2.0
# Copyright 2026 The vla_ros authors
"""Camera frames to the model's size: the one letterbox every policy family uses (issue 16).

``vla_ros.core.images.letterbox`` is the reference, in numpy (``exact=True``: openpi's
``resize_with_pad`` bit for bit). The families resize with torch's uint8 bilinear kernel
instead: the same interpolation (half-pixel centres, no antialiasing, aspect kept, even black
bars with the odd pixel at the bottom or right), with weights in fixed point, so each value is
within 1 of openpi's (17 % of them differ, by 1, from 640x480 to 224x224; 37 % to 64x64) in
about 60 % of the time of the numpy float32 path for (H, W, 3) images, and less again as the
channel planes a model takes (``resize_planes``; ``docs/benchmarks.md``). Every family, and
the client of a remote one, goes through this module, so a frame gives the same pixels locally
and served.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

import numpy as np
from numpy.typing import NDArray

from vla_ros.core.images import letterbox_geometry

if TYPE_CHECKING:
    import torch

__all__ = ['letterbox', 'resize_planes']


def resize_planes(image: NDArray[np.uint8], rows: int, cols: int) -> torch.Tensor:
    """(3, rows, cols) uint8 channel planes of an (H, W, 3) image resized bilinearly.

    The image is read in place (an (H, W, 3) array is a channels-last (1, 3, H, W) tensor,
    which torch's uint8 kernel takes as it is); a read-only one is copied first. torch is
    imported here, on the first resize, so a remote policy's client whose frames already have
    the server's size never loads it.
    """
    import torch
    import torch.nn.functional

    frame = torch.from_numpy(image if image.flags.writeable else image.copy())
    return torch.nn.functional.interpolate(frame.permute(2, 0, 1).unsqueeze(0),
                                           size=(rows, cols), mode='bilinear',
                                           align_corners=False, antialias=False)[0]


def letterbox(image: NDArray[np.uint8], *, height: int, width: int) -> NDArray[np.uint8]:
    """``image`` fitted into height x width with its aspect kept and black bars, (H, W, 3) uint8.

    An image that already has the size is returned as it is, not copied.

    Raises:
        InputError: as ``vla_ros.core.images.letterbox``.
    """
    rows, cols, top, left = letterbox_geometry(image, height=height, width=width)
    if image.shape[:2] == (height, width):
        return image
    padded = np.zeros((height, width, 3), dtype=np.uint8)
    padded[top:top + rows, left:left + cols] = resize_planes(image, rows, cols).permute(
        1, 2, 0).contiguous().numpy()
    return padded
