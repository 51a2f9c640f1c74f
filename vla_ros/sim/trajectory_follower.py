# SPDX-License-Identifier: Apache-2.0
# Copyright 2026 The vla_ros authors
"""Turns joint trajectories into position targets the way ros2_control's JTC does.

``TrajectoryFollower`` emulates the parts of joint_trajectory_controller (jazzy) that a VLA
publisher relies on, so that the simulated robot reacts to our trajectories as a real one would:

- joints are matched by name, in any order; an unknown or a missing joint rejects the whole
  command (``allow_partial_joints_goal`` is false by default);
- a start time of None (a zero header stamp) means "now"; a command that ends in the past is
  rejected;
- a new command replaces the running one; the motion to its first point starts from the
  desired (commanded) state at arrival (``interpolate_from_desired_state``) and takes the first
  point's ``time_from_start``;
- positions only interpolate linearly; positions with velocities interpolate with cubic
  Hermite segments, so every waypoint is hit exactly in both cases;
- after the last point the follower holds it.

Numpy only: no ROS and no MuJoCo, so the same class can drive any position-controlled robot.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np
from numpy.typing import NDArray

from vla_ros.core.errors import InputError
from vla_ros.core.types import JointTrajectoryCommand

__all__ = ['TrajectoryFollower']


@dataclass(frozen=True, slots=True)
class _Plan:
    """A piecewise trajectory through knots, in the follower's joint order.

    Attributes:
        times_s: (K,) absolute knot times, strictly increasing, seconds.
        positions: (K, J) knot positions, rad (or m).
        velocities: (K, J) knot velocities for cubic Hermite segments, or None for linear ones.
    """

    times_s: NDArray[np.float64]
    positions: NDArray[np.float64]
    velocities: NDArray[np.float64] | None

    def sample(self, now_s: float) -> tuple[NDArray[np.float64], NDArray[np.float64]]:
        """Desired (positions, velocities) at ``now_s``; constant outside the knot times."""
        times = self.times_s
        if now_s <= times[0] or now_s >= times[-1]:
            index = 0 if now_s <= times[0] else -1
            return self.positions[index].copy(), np.zeros(self.positions.shape[1])
        i = int(np.searchsorted(times, now_s, side='right')) - 1
        span_s = times[i + 1] - times[i]
        s = (now_s - times[i]) / span_s
        p0, p1 = self.positions[i], self.positions[i + 1]
        if self.velocities is None:
            return p0 + s * (p1 - p0), (p1 - p0) / span_s
        # Cubic Hermite basis on s in [0, 1]; knot velocities scaled to the unit interval.
        m0, m1 = self.velocities[i] * span_s, self.velocities[i + 1] * span_s
        s2, s3 = s * s, s * s * s
        positions = ((2 * s3 - 3 * s2 + 1) * p0 + (s3 - 2 * s2 + s) * m0
                     + (3 * s2 - 2 * s3) * p1 + (s3 - s2) * m1)
        velocities = ((6 * s2 - 6 * s) * p0 + (3 * s2 - 4 * s + 1) * m0
                      + (6 * s - 6 * s2) * p1 + (3 * s2 - 2 * s) * m1) / span_s
        return positions, velocities


class TrajectoryFollower:
    """Holds one joint trajectory at a time and samples the desired positions from it.

    Args:
        joint_names: the controlled joints, in the order of every array returned.
        initial_positions: (J,) positions held until the first command, rad (or m).

    Raises:
        InputError: duplicate joint names, or initial positions of the wrong shape or non-finite.
    """

    def __init__(self, joint_names: tuple[str, ...],
                 initial_positions: NDArray[np.float64] | Sequence[float]) -> None:
        if len(set(joint_names)) != len(joint_names):
            raise InputError(f'TrajectoryFollower joint_names: duplicates in {joint_names!r}')
        self._joint_names = tuple(joint_names)
        self._column = {name: i for i, name in enumerate(self._joint_names)}
        self._plan = self._hold_plan(initial_positions)

    @property
    def joint_names(self) -> tuple[str, ...]:
        """The controlled joints, in the order of every array returned."""
        return self._joint_names

    @property
    def end_time_s(self) -> float:
        """When the current trajectory reaches its last point (-inf while holding), seconds."""
        return float(self._plan.times_s[-1])

    def accept(self, command: JointTrajectoryCommand, *, now_s: float,
               start_s: float | None = None) -> None:
        """Replace the running trajectory with ``command``.

        Args:
            command: the trajectory; its columns may come in any order.
            now_s: the current time, on the same clock as ``start_s``, seconds.
            start_s: when ``times_from_start_s`` counts from; None (a zero stamp) means now.

        Raises:
            InputError: the command names a joint this follower lacks or lacks one it has, or
                it ends before ``now_s``. The running trajectory is kept.
        """
        order = self._column_order(command.joint_names)
        start = now_s if start_s is None else start_s
        point_times_s = start + command.times_from_start_s
        if point_times_s[-1] < now_s:
            raise InputError(
                f'trajectory with start_s={start_s!r} ends at {point_times_s[-1]!r} s, '
                f'before now_s={now_s!r}: it lies entirely in the past')
        positions = command.positions[:, order]
        velocities = None if command.velocities is None else command.velocities[:, order]
        arrival_positions, arrival_velocities = self._plan.sample(now_s)
        if point_times_s[0] > now_s:
            # Move from where we are told to be now to the first point, as the JTC does.
            point_times_s = np.concatenate([[now_s], point_times_s])
            positions = np.vstack([arrival_positions, positions])
            if velocities is not None:
                velocities = np.vstack([arrival_velocities, velocities])
        self._plan = _Plan(point_times_s, positions, velocities)

    def _column_order(self, names: tuple[str, ...]) -> list[int]:
        """Index of each of our joints among ``names``; raises InputError on any mismatch."""
        unknown = [name for name in names if name not in self._column]
        missing = [name for name in self._joint_names if name not in names]
        if unknown or missing:
            raise InputError(
                f'trajectory joint_names {list(names)!r}: unknown joints {unknown!r}, missing '
                f'joints {missing!r}; expected exactly {list(self._joint_names)!r} in any order')
        return [names.index(name) for name in self._joint_names]

    def sample(self, now_s: float) -> NDArray[np.float64]:
        """Desired positions at ``now_s``: (J,) in ``joint_names`` order, rad (or m)."""
        return self._plan.sample(now_s)[0]

    def sample_velocities(self, now_s: float) -> NDArray[np.float64]:
        """Desired velocities at ``now_s``: (J,) in ``joint_names`` order, rad/s (or m/s)."""
        return self._plan.sample(now_s)[1]

    def is_done(self, now_s: float) -> bool:
        """Whether ``now_s`` is at or past the last point (always true while holding)."""
        return bool(now_s >= self._plan.times_s[-1])

    def hold(self, positions: NDArray[np.float64] | Sequence[float]) -> None:
        """Drop the running trajectory and hold ``positions`` ((J,), rad or m) from now on.

        Raises:
            InputError: wrong shape or a NaN or Inf.
        """
        self._plan = self._hold_plan(positions)

    def _hold_plan(self, positions: NDArray[np.float64] | Sequence[float]) -> _Plan:
        held = np.asarray(positions, dtype=np.float64)
        if held.shape != (len(self._joint_names),) or not np.all(np.isfinite(held)):
            raise InputError(
                f'hold positions: {held!r}, expected {len(self._joint_names)} finite values '
                f'for {list(self._joint_names)!r}')
        return _Plan(np.array([-np.inf]), held[np.newaxis, :].copy(), None)
