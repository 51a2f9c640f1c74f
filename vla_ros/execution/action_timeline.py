# SPDX-License-Identifier: Apache-2.0
# Copyright 2026 The vla_ros authors
"""The planned command stream: joint targets on a fixed time grid, and its trajectory message.

An ``ActionTimeline`` holds the targets the runner has planned, already within the robot's
limits, one row per policy time step: row i is due at ``start_s + i * dt_s`` on the runner's
clock. Row 0 is the anchor, where the plan begins (the measured or the last commanded
position). Merging a new chunk keeps the rows up to the splice and replaces the rest, so the
grid, and with it the time of every row, never moves while the robot runs.

``trajectory_after`` turns the rows still to come into a trajectory for ros2_control's
joint_trajectory_controller, timed relative to "now" (a zero header stamp means "start on
arrival"): the controller replaces its running trajectory with it, and since the new points
are the old plan's future rows, at the same times, the motion continues without a jump.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from numpy.typing import NDArray

from vla_ros.core.errors import InputError
from vla_ros.core.types import JointTrajectoryCommand
from vla_ros.execution.chunk_planner import braking_trajectory
from vla_ros.execution.joint_limits import JointLimits

__all__ = ['ActionTimeline']

#: Slack when comparing a time with a grid time, seconds (clock reads differ by rounding).
TIME_EPS_S = 1e-9


@dataclass(frozen=True, slots=True)
class ActionTimeline:
    """Planned joint targets on a time grid.

    Attributes:
        joint_names: names of the columns of ``positions``.
        start_s: time of row 0, on the runner's clock, seconds.
        dt_s: time between rows, seconds.
        positions: (N >= 1, J) float64 rad (m for prismatic joints); row i is due at
            ``start_s + i * dt_s``.
    """

    joint_names: tuple[str, ...]
    start_s: float
    dt_s: float
    positions: NDArray[np.float64]

    def __post_init__(self) -> None:
        positions = np.asarray(self.positions, dtype=np.float64)
        if positions.ndim != 2 or positions.shape[1] != len(self.joint_names) or (
                not len(positions)):
            raise InputError(f'ActionTimeline.positions: shape {positions.shape!r}, expected '
                             f'(N >= 1, {len(self.joint_names)})')
        if not self.dt_s > 0.0:
            raise InputError(f'ActionTimeline.dt_s: {self.dt_s!r}, expected > 0')
        object.__setattr__(self, 'positions', positions)

    @property
    def rows(self) -> int:
        """Number of rows N."""
        return int(self.positions.shape[0])

    @property
    def end_s(self) -> float:
        """Time of the last row, seconds."""
        return self.time_of(self.rows - 1)

    def time_of(self, index: int) -> float:
        """Time of row ``index`` (any integer, also beyond the rows), seconds."""
        return self.start_s + index * self.dt_s

    def times_s(self) -> NDArray[np.float64]:
        """(N,) time of every row, seconds."""
        return np.asarray(self.start_s + self.dt_s * np.arange(self.rows), dtype=np.float64)

    def first_index_after(self, time_s: float) -> int:
        """Index of the first row due strictly after ``time_s``; N when none is."""
        index = int(np.floor((time_s - self.start_s) / self.dt_s + TIME_EPS_S)) + 1
        return min(max(index, 0), self.rows)

    def remaining_steps(self, now_s: float) -> int:
        """Rows still to come after ``now_s``."""
        return self.rows - self.first_index_after(now_s)

    def sample(self, times_s: NDArray[np.float64]) -> NDArray[np.float64]:
        """(T, J) targets at ``times_s``, linear between rows, held before and after them."""
        grid = self.times_s()
        columns = [np.interp(times_s, grid, self.positions[:, j])
                   for j in range(len(self.joint_names))]
        return np.asarray(np.stack(columns, axis=-1), dtype=np.float64)

    def velocity_at(self, index: int) -> NDArray[np.float64]:
        """(J,) speed over the step into row ``index`` (zero for row 0), rad/s."""
        if index <= 0:
            return np.zeros(len(self.joint_names))
        step = self.positions[index] - self.positions[index - 1]
        return np.asarray(step / self.dt_s, dtype=np.float64)

    def motion_at(self, now_s: float) -> tuple[NDArray[np.float64], NDArray[np.float64]]:
        """(positions, velocities) the plan commands at ``now_s``: (J,) rad and rad/s.

        The speed is the step's that ``now_s`` falls in; zero before the first row and after
        the last (the plan holds there).
        """
        positions = self.sample(np.array([now_s]))[0]
        index = self.first_index_after(now_s)
        if 0 < index < self.rows:
            return positions, self.velocity_at(index)
        return positions, np.zeros(len(self.joint_names))

    def braking_from(self, now_s: float, *, limits: JointLimits,
                     max_acceleration_rad_s2: float | None) -> JointTrajectoryCommand:
        """Brake to rest from the plan's motion at ``now_s`` (``braking_trajectory``)."""
        positions, velocities = self.motion_at(now_s)
        return braking_trajectory(self.joint_names, positions, velocities, limits=limits,
                                  period_s=self.dt_s,
                                  max_acceleration_rad_s2=max_acceleration_rad_s2)

    def spliced(self, index: int, positions: NDArray[np.float64]) -> ActionTimeline:
        """Keep rows before ``index`` and append ``positions`` ((K, J)) after them."""
        kept = self.positions[:max(index, 1)]
        return ActionTimeline(self.joint_names, self.start_s, self.dt_s,
                              np.vstack([kept, positions]))

    def trimmed(self, before_s: float, *, keep_rows: int = 2) -> ActionTimeline:
        """Drop rows due before ``before_s`` except the last ``keep_rows`` of them."""
        drop = max(0, self.first_index_after(before_s) - keep_rows)
        drop = min(drop, self.rows - 1)
        return ActionTimeline(self.joint_names, self.time_of(drop), self.dt_s,
                              self.positions[drop:])

    def trajectory_after(self, now_s: float, *, lead_s: float = 0.0
                         ) -> JointTrajectoryCommand | None:
        """The rows due after ``now_s + lead_s`` as a trajectory that starts at ``now_s``.

        Velocities are central differences over the rows (the row before the first point
        included), so the controller interpolates with cubic splines; the last is zero, as
        the controller requires. None when no row is left.
        """
        first = self.first_index_after(now_s + lead_s)
        if first >= self.rows:
            return None
        times = self.times_s()[first:] - now_s
        positions = self.positions[first:]
        context = max(first - 1, 0)
        if self.rows - context > 1:
            gradient = np.gradient(self.positions[context:], self.dt_s, axis=0)
            velocities = np.asarray(gradient[first - context:], dtype=np.float64)
        else:
            velocities = np.zeros_like(positions)
        velocities[-1] = 0.0
        return JointTrajectoryCommand(self.joint_names, times, positions, velocities)
