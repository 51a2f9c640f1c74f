# SPDX-License-Identifier: Apache-2.0
# Copyright 2026 The vla_ros authors
"""Render tabletop scenes labelled with where each cube is: pointing pre-training data.

Each scene is a reset of the tabletop (arm at home, cubes scattered by the scene seed), seen by
the config's cameras at their sizes; the label is each cube's (x, y) on the table. The prompts
are every phrasing of every task for every colour, so the words the policies are instructed
with at run time are the words they learn to ground (see ``vla_ros.policies.pointing``).
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from pathlib import Path
from typing import TYPE_CHECKING

import numpy as np

from vla_ros.core.errors import ConfigError
from vla_ros.core.pointing_set import PointingSet
from vla_ros.sim.scene import TabletopSim
from vla_ros.sim.tasks import Colour, PHRASINGS

if TYPE_CHECKING:
    from vla_ros.core.config import CameraConfig

__all__ = ['POINTING_PROMPTS', 'render_pointing_scenes']

#: (instruction, index of the colour in ``Colour``) for every task's phrasings.
POINTING_PROMPTS: tuple[tuple[str, int], ...] = tuple(
    (template.format(colour=colour.value), index)
    for templates in PHRASINGS.values() for template in templates
    for index, colour in enumerate(Colour))


def render_pointing_scenes(*, mjcf_path: Path, cameras: Sequence[CameraConfig], count: int,
                           seed: int, on_scene: Callable[[int], None] | None = None,
                           ) -> PointingSet:
    """Render ``count`` scenes with seeds ``seed``, ``seed + 1``, ... and label the cubes.

    Raises:
        ConfigError: a count below 1 or cameras of different sizes.
    """
    if count < 1:
        raise ConfigError(f'pointing scenes: {count!r}, expected >= 1')
    sizes = {(camera.height, camera.width) for camera in cameras}
    if len(sizes) != 1:
        raise ConfigError(f'pointing scenes: cameras of sizes {sorted(sizes)!r}, expected one')
    height, width = sizes.pop()
    images = np.zeros((count, len(cameras), height, width, 3), dtype=np.uint8)
    positions = np.zeros((count, len(Colour), 2), dtype=np.float32)
    with TabletopSim(mjcf_path, seed=seed) as sim:
        for index in range(count):
            sim.reset(seed + index)
            for slot, camera in enumerate(cameras):
                images[index, slot] = sim.render(camera.name, width, height)
            objects = sim.object_positions()
            positions[index] = [objects[colour.cube_name][:2] for colour in Colour]
            if on_scene is not None:
                on_scene(index)
    return PointingSet(images=images, positions=positions,
                       camera_names=tuple(camera.name for camera in cameras),
                       object_names=tuple(colour.cube_name for colour in Colour),
                       prompts=POINTING_PROMPTS)
