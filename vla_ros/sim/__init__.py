# SPDX-License-Identifier: Apache-2.0
# Copyright 2026 The vla_ros authors
"""The simulated robot, free of ROS: MuJoCo scenes and a JTC-like trajectory follower.

``MujocoSim`` (``mujoco_sim``) simulates any embodiment whose config has a ``sim`` section; it
is the only user of ``mujoco`` in vla_ros that picks the GL backend (importing it defaults
``MUJOCO_GL`` to ``osmesa`` unless the environment already chose one). ``TabletopSim``
(``scene``) is the tabletop arm's instance of it. ``TrajectoryFollower``
(``trajectory_follower``) needs only numpy; the rclpy node in ``vla_ros.ros`` combines the two
into a robot that speaks joint_trajectory_controller.
"""

from __future__ import annotations

from vla_ros.sim.mujoco_sim import END_EFFECTOR_FRAME, MujocoSim
from vla_ros.sim.scene import ARM_JOINT_NAMES, CUBE_NAMES, GRIPPER_JOINT_NAME, TabletopSim
from vla_ros.sim.trajectory_follower import TrajectoryFollower

__all__ = [
    'ARM_JOINT_NAMES', 'CUBE_NAMES', 'END_EFFECTOR_FRAME', 'GRIPPER_JOINT_NAME', 'MujocoSim',
    'TabletopSim', 'TrajectoryFollower',
]
