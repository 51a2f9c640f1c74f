# SPDX-License-Identifier: Apache-2.0
# Copyright 2026 The vla_ros authors
"""Joint limits of a robot, read from its URDF with Pinocchio."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

import numpy as np
from numpy.typing import NDArray

from vla_ros.core.errors import ConfigError

__all__ = ['JointLimits', 'load_urdf_limits']


@dataclass(frozen=True, slots=True)
class JointLimits:
    """Position and velocity limits per joint.

    Attributes:
        names: joint names, the order of the arrays.
        lower: (J,) lower position limits, rad (m for prismatic joints).
        upper: (J,) upper position limits.
        velocity: (J,) largest speed, rad/s (m/s); inf where the URDF gives none.
    """

    names: tuple[str, ...]
    lower: NDArray[np.float64]
    upper: NDArray[np.float64]
    velocity: NDArray[np.float64]

    def subset(self, names: Sequence[str]) -> JointLimits:
        """The limits of ``names``, in that order; ConfigError names any joint not in the URDF."""
        index = {name: i for i, name in enumerate(self.names)}
        unknown = [name for name in names if name not in index]
        if unknown:
            raise ConfigError(f'joints {unknown!r} are not in the URDF; it has {list(self.names)}')
        rows = [index[name] for name in names]
        return JointLimits(tuple(names), self.lower[rows], self.upper[rows], self.velocity[rows])


def load_urdf_limits(urdf_path: Path) -> JointLimits:
    """Read every one-degree-of-freedom joint's limits from a URDF file.

    Raises:
        ConfigError: the file is missing or Pinocchio cannot parse it.
    """
    import pinocchio  # kinematics library; imported here so the core stays numpy-only

    if not Path(urdf_path).is_file():
        raise ConfigError(f'URDF {str(urdf_path)!r} does not exist')
    try:
        model = pinocchio.buildModelFromUrdf(str(urdf_path))
    except (RuntimeError, ValueError) as err:
        raise ConfigError(f'URDF {str(urdf_path)!r} cannot be parsed: {err}') from err
    names, lower, upper, velocity = [], [], [], []
    for joint_id in range(1, model.njoints):
        joint = model.joints[joint_id]
        if joint.nq != 1:
            continue
        names.append(model.names[joint_id])
        lower.append(model.lowerPositionLimit[joint.idx_q])
        upper.append(model.upperPositionLimit[joint.idx_q])
        speed = model.velocityLimit[joint.idx_v]
        velocity.append(speed if speed > 0 else np.inf)
    return JointLimits(tuple(names), np.array(lower), np.array(upper), np.array(velocity))
