# SPDX-License-Identifier: Apache-2.0
# Copyright 2026 The vla_ros authors
"""The tabletop arm: the generic ``MujocoSim`` bound by ``config/tabletop_arm.yaml``.

``TabletopSim(mjcf_path)`` is ``MujocoSim`` configured by the ``sim`` section of
``config/tabletop_arm.yaml`` of the package the scene file belongs to (``<root>/urdf/...`` ->
``<root>/config/tabletop_arm.yaml``, in a checkout and in an install alike), with that scene
file. It keeps the short constructor that the tabletop's scripted expert, demonstrations and
tests use; the ROS sim node builds ``MujocoSim`` from whichever config it is given.

The name constants below are the tabletop task's vocabulary (its scripted expert solves
for these joints, and its tasks name these cubes); the simulator itself reads them from the
config only.
"""

from __future__ import annotations

import dataclasses
from pathlib import Path

from vla_ros.core.config import load_config
from vla_ros.core.errors import ConfigError
from vla_ros.sim.mujoco_sim import MujocoSim

__all__ = ['ARM_JOINT_NAMES', 'CUBE_NAMES', 'GRIPPER_JOINT_NAME', 'TABLETOP_CONFIG', 'TabletopSim']

ARM_JOINT_NAMES = ('joint1', 'joint2', 'joint3', 'joint4', 'joint5', 'joint6')
GRIPPER_JOINT_NAME = 'gripper_joint'
CUBE_NAMES = ('red_cube', 'green_cube', 'blue_cube')
#: The config that binds the tabletop scene, relative to the package root.
TABLETOP_CONFIG = Path('config') / 'tabletop_arm.yaml'


class TabletopSim(MujocoSim):
    """The tabletop scene: a 6-joint arm with a gripper, and three cubes on a table.

    Args:
        mjcf_path: the scene file, usually ``urdf/tabletop_scene.xml``.
        seed: seeds the cube placement; the constructor resets with it.

    Raises:
        ConfigError: no ``config/tabletop_arm.yaml`` with a sim section beside the scene's
            directory, or the scene lacks what that config names (see ``MujocoSim``).
    """

    def __init__(self, mjcf_path: Path, *, seed: int = 0) -> None:
        config_path = Path(mjcf_path).resolve().parent.parent / TABLETOP_CONFIG
        sim_config = load_config(config_path).sim
        if sim_config is None:
            raise ConfigError(f'{config_path}: no sim section')
        super().__init__(dataclasses.replace(sim_config, mjcf=Path(mjcf_path)), seed=seed)

    def __enter__(self) -> TabletopSim:
        return self
