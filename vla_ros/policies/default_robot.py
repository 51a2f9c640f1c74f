# SPDX-License-Identifier: Apache-2.0
# Copyright 2026 The vla_ros authors
"""The default robot every family's random checkpoint is made for (``config/tabletop_arm.yaml``).

A six-joint arm with a prismatic gripper and two 64x64 cameras. It lives apart from any
family, so that one family's checkpoint maker does not import another family's model stack.
"""

from __future__ import annotations

from vla_ros.core.policy import PolicySpec

__all__ = ['DEFAULT_HOME_POSITIONS', 'DEFAULT_MOTION_STD', 'DEFAULT_SPEC']

#: The default robot: a six-joint arm with a prismatic gripper and two cameras.
DEFAULT_SPEC = PolicySpec(
    joint_names=('joint1', 'joint2', 'joint3', 'joint4', 'joint5', 'joint6', 'gripper_joint'),
    camera_names=('front', 'wrist'), image_height=64, image_width=64, chunk_length=10, dt_s=0.1)
#: Home pose of the default robot, rad (the gripper, last, in m).
DEFAULT_HOME_POSITIONS = (0.0, 0.4, 1.7, 0.0, 1.04, 0.0, 0.04)
#: Action standard deviation of the default robot: 0.05 rad per arm joint, 2 mm for the gripper.
DEFAULT_MOTION_STD = (0.05, 0.05, 0.05, 0.05, 0.05, 0.05, 0.002)
