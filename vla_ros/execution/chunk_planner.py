# SPDX-License-Identifier: Apache-2.0
# Copyright 2026 The vla_ros authors
"""Action chunk -> joint trajectory inside the robot's limits, and its split per controller.

The trajectory is what ros2_control's joint_trajectory_controller takes: times relative to a
zero stamp (= start on arrival), first point one time step ahead, velocities from finite
differences so the controller interpolates with cubic splines instead of straight lines.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass

import numpy as np
from numpy.typing import NDArray

from vla_ros.core.errors import ConfigError
from vla_ros.core.types import ActionChunk, JointTrajectoryCommand
from vla_ros.execution.joint_limits import JointLimits

__all__ = ['PlannedTrajectory', 'hold_trajectory', 'plan_trajectory', 'split_by_controller']

#: Time given to the controller to reach a hold point, seconds.
HOLD_TIME_S = 0.05


@dataclass(frozen=True, slots=True)
class PlannedTrajectory:
    """A trajectory ready to send, and how many values the limits changed."""

    command: JointTrajectoryCommand
    corrections: int


def plan_trajectory(chunk: ActionChunk, *, measured: NDArray[np.float64], limits: JointLimits,
                    max_step_rad: float, horizon: int | None = None) -> PlannedTrajectory:
    """Turn the first ``horizon`` steps of ``chunk`` into a trajectory within ``limits``.

    Positions are clipped to the position limits; each step (the first one measured from the
    robot's current position) is clipped to what the velocity limit allows in one time step,
    and never more than ``max_step_rad``.

    Args:
        chunk: the policy's absolute joint targets.
        measured: (J,) current positions of ``chunk.joint_names``.
        limits: limits of ``chunk.joint_names`` in that order.
        max_step_rad: largest change of any joint between consecutive points.
        horizon: steps to use, all when None.
    """
    targets = chunk.positions[:horizon] if horizon else chunk.positions
    clipped = np.clip(targets, limits.lower, limits.upper)
    corrections = int(np.count_nonzero(clipped != targets))
    max_delta = np.minimum(limits.velocity * chunk.dt_s, max_step_rad)
    positions = np.empty_like(clipped)
    previous = np.clip(measured, limits.lower, limits.upper)
    for step, target in enumerate(clipped):
        delta = np.clip(target - previous, -max_delta, max_delta)
        corrections += int(np.count_nonzero(delta != target - previous))
        # Clip again: previous + (target - previous) can round one ulp past the limit.
        previous = np.clip(previous + delta, limits.lower, limits.upper)
        positions[step] = previous
    times = np.asarray(chunk.dt_s * np.arange(1, len(positions) + 1), dtype=np.float64)
    velocities = None
    if len(positions) > 1:
        velocities = np.asarray(np.gradient(positions, chunk.dt_s, axis=0), dtype=np.float64)
        velocities[-1] = 0.0  # the controller holds the last point at rest
    command = JointTrajectoryCommand(chunk.joint_names, times, positions, velocities)
    return PlannedTrajectory(command=command, corrections=corrections)


def hold_trajectory(joint_names: tuple[str, ...],
                    positions: NDArray[np.float64]) -> JointTrajectoryCommand:
    """A one-point trajectory that holds ``positions``."""
    return JointTrajectoryCommand(joint_names, np.array([HOLD_TIME_S]),
                                  np.asarray(positions, dtype=np.float64)[None, :],
                                  np.zeros((1, len(joint_names))))


def split_by_controller(command: JointTrajectoryCommand,
                        controllers: Mapping[str, tuple[str, ...]]
                        ) -> dict[str, JointTrajectoryCommand]:
    """One trajectory per controller, each with exactly that controller's joints.

    Raises:
        ConfigError: a controller joint that the command does not drive.
    """
    index = {name: i for i, name in enumerate(command.joint_names)}
    split = {}
    for controller, joints in controllers.items():
        missing = [joint for joint in joints if joint not in index]
        if missing:
            raise ConfigError(
                f'controller {controller!r} needs joints {missing!r} that the policy does not '
                f'command; it commands {list(command.joint_names)}')
        columns = [index[joint] for joint in joints]
        velocities = None if command.velocities is None else command.velocities[:, columns]
        split[controller] = JointTrajectoryCommand(
            joints, command.times_from_start_s, command.positions[:, columns], velocities)
    return split
