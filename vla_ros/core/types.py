# SPDX-License-Identifier: Apache-2.0
# Copyright 2026 The vla_ros authors
"""Value types passed between the layers: observations in, action chunks and trajectories out.

Shapes and dtypes are checked once, here, at construction; everything downstream trusts them.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
import enum
from typing import TYPE_CHECKING

import numpy as np
from numpy.typing import NDArray

from vla_ros.core.errors import InputError, PolicyOutputError

if TYPE_CHECKING:
    from vla_ros.core.policy import PolicySpec

__all__ = ['ActionChunk', 'JointTrajectoryCommand', 'NodeState', 'Observation']


class NodeState(enum.Enum):
    """What the policy node is doing; mirrors the constants of ``vla_ros/msg/PolicyStatus``."""

    IDLE = 0
    RUNNING = 1
    HOLDING = 2
    ERROR = 3


def _check_names(names: tuple[str, ...], where: str) -> None:
    if len(set(names)) != len(names):
        raise InputError(f'{where}: duplicate joint names in {names!r}')


@dataclass(frozen=True, slots=True)
class Observation:
    """One synchronised observation of the robot.

    Attributes:
        images: camera name -> (H, W, 3) uint8 RGB image.
        joint_names: names of the entries of ``joint_positions``.
        joint_positions: (J,) float64 rad (or m for prismatic joints).
        instruction: the language instruction in force.
        stamp_s: acquisition time of the newest input, seconds.
    """

    images: Mapping[str, NDArray[np.uint8]]
    joint_names: tuple[str, ...]
    joint_positions: NDArray[np.float64]
    instruction: str
    stamp_s: float = 0.0

    def __post_init__(self) -> None:
        _check_names(self.joint_names, 'Observation.joint_names')
        positions = np.asarray(self.joint_positions, dtype=np.float64)
        if positions.shape != (len(self.joint_names),):
            raise InputError(
                f'Observation.joint_positions: shape {positions.shape!r}, '
                f'expected ({len(self.joint_names)},) to match joint_names')
        if not np.all(np.isfinite(positions)):
            raise InputError(f'Observation.joint_positions: non-finite value in {positions!r}')
        object.__setattr__(self, 'joint_positions', positions)
        for name, image in self.images.items():
            if image.dtype != np.uint8 or image.ndim != 3 or image.shape[2] != 3:
                raise InputError(
                    f'Observation.images[{name!r}]: dtype {image.dtype} shape {image.shape!r}, '
                    'expected uint8 (H, W, 3) RGB')

    def positions_for(self, names: tuple[str, ...]) -> NDArray[np.float64]:
        """Return the positions of ``names`` in that order; raises InputError for a missing one."""
        index = {name: i for i, name in enumerate(self.joint_names)}
        missing = [name for name in names if name not in index]
        if missing:
            raise InputError(
                f'joint state lacks joints {missing!r}; it has {list(self.joint_names)!r}')
        return self.joint_positions[[index[name] for name in names]]

    def images_for(self, spec: PolicySpec) -> tuple[NDArray[np.uint8], ...]:
        """Return the images of the cameras ``spec`` reads, in its order.

        Raises:
            InputError: a camera is missing; naming it, the cameras the policy needs and the
                ones the observation has.
        """
        for camera in spec.camera_names:
            if camera not in self.images:
                raise InputError(
                    f'camera {camera!r}: no image in the observation; the policy needs '
                    f'{list(spec.camera_names)!r}, got {sorted(self.images)!r}')
        return tuple(self.images[camera] for camera in spec.camera_names)


@dataclass(frozen=True, slots=True)
class ActionChunk:
    """A sequence of absolute joint position targets, one every ``dt_s`` seconds.

    Attributes:
        joint_names: names of the columns of ``positions``.
        positions: (T, J) float64 rad; row k is the target at time (k + 1) * dt_s after the
            observation the chunk was computed from.
        dt_s: time step between rows, seconds.
    """

    joint_names: tuple[str, ...]
    positions: NDArray[np.float64]
    dt_s: float

    def __post_init__(self) -> None:
        _check_names(self.joint_names, 'ActionChunk.joint_names')
        positions = np.asarray(self.positions, dtype=np.float64)
        width = len(self.joint_names)
        if positions.ndim != 2 or positions.shape[1] != width or not len(positions):
            raise PolicyOutputError(
                f'ActionChunk.positions: shape {positions.shape!r}, '
                f'expected (T >= 1, {len(self.joint_names)})')
        if not np.all(np.isfinite(positions)):
            raise PolicyOutputError('ActionChunk.positions: contains NaN or Inf')
        if not (self.dt_s > 0.0 and np.isfinite(self.dt_s)):
            raise PolicyOutputError(f'ActionChunk.dt_s: {self.dt_s!r}, expected > 0')
        object.__setattr__(self, 'positions', positions)

    @property
    def horizon(self) -> int:
        """Number of time steps in the chunk."""
        return int(self.positions.shape[0])


@dataclass(frozen=True, slots=True)
class JointTrajectoryCommand:
    """A joint trajectory as ros2_control's joint_trajectory_controller takes it.

    Attributes:
        joint_names: names of the columns.
        times_from_start_s: (N,) strictly increasing, > 0, seconds after the trajectory start.
        positions: (N, J) float64 rad.
        velocities: (N, J) float64 rad/s, or None (the controller then interpolates linearly).
    """

    joint_names: tuple[str, ...]
    times_from_start_s: NDArray[np.float64]
    positions: NDArray[np.float64]
    velocities: NDArray[np.float64] | None = field(default=None)

    def __post_init__(self) -> None:
        _check_names(self.joint_names, 'JointTrajectoryCommand.joint_names')
        times = np.asarray(self.times_from_start_s, dtype=np.float64)
        positions = np.asarray(self.positions, dtype=np.float64)
        n_points, n_joints = times.size, len(self.joint_names)
        if times.ndim != 1 or n_points == 0 or positions.shape != (n_points, n_joints):
            raise InputError(
                f'JointTrajectoryCommand: {n_points} times and positions {positions.shape!r}, '
                f'expected (N >= 1,) and (N, {n_joints})')
        if not np.all(np.isfinite(times)) or times[0] <= 0.0 or np.any(np.diff(times) <= 0.0):
            raise InputError(
                f'JointTrajectoryCommand.times_from_start_s: {times!r} must be finite, > 0 '
                'and strictly increasing')
        if not np.all(np.isfinite(positions)):
            raise InputError('JointTrajectoryCommand.positions: contains NaN or Inf')
        object.__setattr__(self, 'times_from_start_s', times)
        object.__setattr__(self, 'positions', positions)
        if self.velocities is not None:
            velocities = np.asarray(self.velocities, dtype=np.float64)
            if velocities.shape != positions.shape or not np.all(np.isfinite(velocities)):
                raise InputError(
                    f'JointTrajectoryCommand.velocities: shape {velocities.shape!r}, '
                    f'expected finite {positions.shape!r}')
            object.__setattr__(self, 'velocities', velocities)
