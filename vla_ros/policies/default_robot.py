# SPDX-License-Identifier: Apache-2.0
# Copyright 2026 The vla_ros authors
"""The default robot every family's random checkpoint is made for (``config/tabletop_arm.yaml``).

A six-joint arm with a prismatic gripper and two 64x64 cameras. It lives apart from any
family, so that one family's checkpoint maker does not import another family's model stack.
``per_joint`` and ``home_band`` are the parts every family's ``home_pose_normalization``
shares: statistics that keep a random policy's motions near a home pose.
"""

from __future__ import annotations

from collections.abc import Sequence

from vla_ros.core.errors import ConfigError
from vla_ros.core.normalization import QuantileStats
from vla_ros.core.policy import PolicySpec

__all__ = [
    'DEFAULT_HOME_POSITIONS', 'DEFAULT_MOTION_STD', 'DEFAULT_SPEC', 'home_band', 'per_joint',
]

#: The default robot: a six-joint arm with a prismatic gripper and two cameras.
DEFAULT_SPEC = PolicySpec(
    joint_names=('joint1', 'joint2', 'joint3', 'joint4', 'joint5', 'joint6', 'gripper_joint'),
    camera_names=('front', 'wrist'), image_height=64, image_width=64, chunk_length=10, dt_s=0.1)
#: Home pose of the default robot, rad (the gripper, last, in m).
DEFAULT_HOME_POSITIONS = (0.0, 0.4, 1.7, 0.0, 1.04, 0.0, 0.04)
#: Action standard deviation of the default robot: 0.05 rad per arm joint, 2 mm for the gripper.
DEFAULT_MOTION_STD = (0.05, 0.05, 0.05, 0.05, 0.05, 0.05, 0.002)


def per_joint(value: float | Sequence[float], joints: int, name: str) -> tuple[float, ...]:
    """``value`` as one positive number per joint: a single number repeated, or ``joints`` of them.

    Raises:
        ConfigError: the wrong count, or a value <= 0, naming ``name``.
    """
    values = ((float(value),) * joints if isinstance(value, int | float)
              else tuple(float(item) for item in value))
    if len(values) != joints or not min(values, default=0.0) > 0.0:
        raise ConfigError(f'{name}: {value!r}, expected one value > 0 or {joints} of them')
    return values


def home_band(home: Sequence[float], half_widths: Sequence[float]) -> QuantileStats:
    """Quantile statistics with q01 = home - half width and q99 = home + half width, per joint."""
    return QuantileStats(q01=tuple(value - width for value, width in zip(home, half_widths)),
                         q99=tuple(value + width for value, width in zip(home, half_widths)))
