# SPDX-License-Identifier: Apache-2.0
# Copyright 2026 The vla_ros authors
"""Scenes labelled with where each nameable object is: the data of pointing pre-training.

``vla_ros.policies.pointing`` pre-trains a VLM on it; ``vla_ros.sim.pointing_scenes`` renders it
from the simulator. On disk it is numpy's compressed zip (no pickles) with the names and prompts
as a JSON string, written by ``vla-ros pointing``. numpy only, so the simulator can write it.
"""

from __future__ import annotations

from dataclasses import dataclass
import json
from pathlib import Path
from typing import TYPE_CHECKING

import numpy as np
from numpy.typing import NDArray

from vla_ros.core.errors import ConfigError

if TYPE_CHECKING:
    from vla_ros.core.policy import PolicySpec

__all__ = ['PointingSet']

_FORMAT_VERSION = 1


@dataclass(frozen=True, slots=True)
class PointingSet:
    """Scenes with the table position of every object an instruction can name.

    Attributes:
        images: (N, C, H, W, 3) uint8 RGB, cameras in ``camera_names`` order.
        positions: (N, K, 2) float32 (x, y) of each object per scene, world frame, m.
        camera_names: the C cameras.
        object_names: the K objects.
        prompts: (instruction, index of the object it names) pairs; any prompt fits any scene.
    """

    images: NDArray[np.uint8]
    positions: NDArray[np.float32]
    camera_names: tuple[str, ...]
    object_names: tuple[str, ...]
    prompts: tuple[tuple[str, int], ...]

    def __post_init__(self) -> None:
        scenes, objects = len(self.images), len(self.object_names)
        if self.images.ndim != 5 or self.images.shape[1] != len(self.camera_names) or (
                self.images.shape[4] != 3 or self.images.dtype != np.uint8):
            raise ConfigError(f'pointing images: shape {self.images.shape!r} {self.images.dtype}, '
                              f'expected (N, {len(self.camera_names)}, H, W, 3) uint8')
        if self.positions.shape != (scenes, objects, 2):
            raise ConfigError(f'pointing positions: shape {self.positions.shape!r}, expected '
                              f'({scenes}, {objects}, 2)')
        if not self.prompts or any(not 0 <= index < objects for _, index in self.prompts):
            raise ConfigError(f'pointing prompts: {self.prompts!r}, expected at least one, each '
                              f'naming an object index below {objects}')

    def __len__(self) -> int:
        return len(self.images)

    def check_fits(self, spec: PolicySpec) -> None:
        """Raise ConfigError unless the set has ``spec``'s cameras, in order, at its size."""
        height, width = self.images.shape[2:4]
        if self.camera_names != spec.camera_names or (height, width) != (
                spec.image_height, spec.image_width):
            raise ConfigError(
                f'pointing set: cameras {list(self.camera_names)!r} at {width}x{height}, the '
                f'policy takes {list(spec.camera_names)!r} at '
                f'{spec.image_width}x{spec.image_height}')

    def save(self, path: Path) -> None:
        """Write the set to ``path``, which must end in ``.npz`` (numpy would append it).

        Raises:
            ConfigError: another suffix.
        """
        if Path(path).suffix != '.npz':
            raise ConfigError(f'pointing set file: {str(path)!r}, expected a name ending .npz')
        meta = {'format_version': _FORMAT_VERSION, 'camera_names': list(self.camera_names),
                'object_names': list(self.object_names),
                'prompts': [list(prompt) for prompt in self.prompts]}
        np.savez_compressed(Path(path), images=self.images, positions=self.positions,
                            meta=np.array(json.dumps(meta)))

    @classmethod
    def load(cls, path: Path) -> PointingSet:
        """Read a set written by ``save``.

        Raises:
            ConfigError: a missing or unreadable file, or one of another format.
        """
        try:
            with np.load(Path(path), allow_pickle=False) as arrays:
                meta = json.loads(str(arrays['meta']))
                images, positions = arrays['images'], arrays['positions']
        except (OSError, KeyError, ValueError) as err:
            raise ConfigError(f'{path}: not a pointing set ({err})') from err
        if meta.get('format_version') != _FORMAT_VERSION:
            raise ConfigError(f'{path}: pointing set format {meta.get("format_version")!r}, '
                              f'expected {_FORMAT_VERSION}')
        return cls(images=images, positions=positions.astype(np.float32),
                   camera_names=tuple(meta['camera_names']),
                   object_names=tuple(meta['object_names']),
                   prompts=tuple((str(text), int(index)) for text, index in meta['prompts']))
