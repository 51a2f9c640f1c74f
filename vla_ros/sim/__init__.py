# SPDX-License-Identifier: Apache-2.0
# Copyright 2026 The vla_ros authors
"""The simulated robot, free of ROS: a MuJoCo tabletop scene and a JTC-like trajectory follower.

``TabletopSim`` (``scene``) is the only user of ``mujoco`` in vla_ros; importing it defaults
``MUJOCO_GL`` to ``osmesa`` unless the environment already chose a backend (see ``scene``).
``TrajectoryFollower`` (``trajectory_follower``) needs only numpy; the rclpy node in
``vla_ros.ros`` combines the two into a robot that speaks joint_trajectory_controller.
"""

from __future__ import annotations

from vla_ros.sim.scene import ARM_JOINT_NAMES, CUBE_NAMES, GRIPPER_JOINT_NAME, TabletopSim
from vla_ros.sim.trajectory_follower import TrajectoryFollower

__all__ = [
    'ARM_JOINT_NAMES', 'CUBE_NAMES', 'GRIPPER_JOINT_NAME', 'TabletopSim', 'TrajectoryFollower',
]
