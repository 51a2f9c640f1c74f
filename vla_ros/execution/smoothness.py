# SPDX-License-Identifier: Apache-2.0
# Copyright 2026 The vla_ros authors
"""How smooth a closed-loop run was, from what a controller received and what the joints did.

Computed offline (numpy only) from two recordings on one clock (the robot's):

- the trajectories one controller received, each with its arrival time; a zero header stamp
  makes the arrival its start (joint_trajectory_controller semantics);
- the measured joint positions over time (``joint_states``).

Metrics, on the joints asked for (revolute ones, so that the units are radians):

- boundary jump: where a new trajectory's first point lies from the running trajectory at
  the same instant (the running one held at its last point once it has ended). A stream of
  chunks that continue each other has jumps near 0; independent chunks jump.
- jerk at boundaries: the largest |d^3 q / dt^3| of the measured positions within
  ``BOUNDARY_WINDOW_S`` of an arrival, from finite differences of the samples.
- idle fraction: the share of the time from the first arrival to the end in which the
  running trajectory had ended and the next had not arrived: the robot waiting for inference.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np
from numpy.typing import NDArray

from vla_ros.core.errors import InputError
from vla_ros.core.types import JointTrajectoryCommand

__all__ = ['BOUNDARY_WINDOW_S', 'JointStateSeries', 'SmoothnessMetrics', 'TimedTrajectory',
           'boundary_jumps', 'idle_time_s', 'max_boundary_jerk', 'measure_smoothness']

#: Half-width of the window around each arrival where jerk is measured, seconds.
BOUNDARY_WINDOW_S = 0.1


@dataclass(frozen=True, slots=True)
class TimedTrajectory:
    """A trajectory and when the controller received it (its start), seconds."""

    arrival_s: float
    command: JointTrajectoryCommand


@dataclass(frozen=True, slots=True)
class JointStateSeries:
    """Measured joint positions over time.

    Attributes:
        joint_names: names of the columns.
        times_s: (N,) non-decreasing sample times, seconds.
        positions: (N, J) rad (m for prismatic joints).
    """

    joint_names: tuple[str, ...]
    times_s: NDArray[np.float64]
    positions: NDArray[np.float64]

    def __post_init__(self) -> None:
        if self.positions.shape != (len(self.times_s), len(self.joint_names)):
            raise InputError(f'JointStateSeries: times {self.times_s.shape!r}, positions '
                             f'{self.positions.shape!r}; expected (N,) and (N, '
                             f'{len(self.joint_names)})')


@dataclass(frozen=True, slots=True)
class SmoothnessMetrics:
    """The smoothness of one run (see the module docstring).

    Attributes:
        max_boundary_jump_rad: largest boundary jump of any joint, rad (0 without boundaries).
        max_jerk_rad_s3: largest measured jerk near a boundary, rad/s^3 (0 without samples).
        idle_s: time spent waiting for the next trajectory, seconds.
        window_s: time from the first arrival to the end, seconds.
        boundaries: trajectories that replaced a running one.
    """

    max_boundary_jump_rad: float
    max_jerk_rad_s3: float
    idle_s: float
    window_s: float
    boundaries: int

    @property
    def idle_fraction(self) -> float:
        """``idle_s / window_s`` (0 for an empty window)."""
        return self.idle_s / self.window_s if self.window_s > 0.0 else 0.0


def _columns(command: JointTrajectoryCommand, joints: Sequence[str]) -> list[int]:
    return [command.joint_names.index(joint) for joint in joints if joint in command.joint_names]


def _position_at(timed: TimedTrajectory, time_s: float, columns: list[int]
                 ) -> NDArray[np.float64]:
    """The trajectory's positions at ``time_s``: linear between points, held outside them."""
    times = timed.arrival_s + timed.command.times_from_start_s
    positions = timed.command.positions[:, columns]
    return np.array([np.interp(time_s, times, positions[:, j]) for j in range(len(columns))])


def boundary_jumps(trajectories: Sequence[TimedTrajectory], joints: Sequence[str]
                   ) -> NDArray[np.float64]:
    """(B,) the largest jump of ``joints`` at each boundary, rad, in arrival order."""
    jumps = []
    for running, new in zip(trajectories, trajectories[1:]):
        columns_new, columns_old = _columns(new.command, joints), _columns(running.command, joints)
        if not columns_new or len(columns_new) != len(columns_old):
            continue
        first_s = new.arrival_s + float(new.command.times_from_start_s[0])
        expected = _position_at(running, first_s, columns_old)
        jumps.append(float(np.max(np.abs(new.command.positions[0, columns_new] - expected))))
    return np.asarray(jumps, dtype=np.float64)


def max_boundary_jerk(states: JointStateSeries, arrivals_s: Sequence[float],
                      joints: Sequence[str]) -> float:
    """The largest |jerk| of ``joints`` within ``BOUNDARY_WINDOW_S`` of an arrival, rad/s^3."""
    columns = [states.joint_names.index(joint) for joint in joints]
    times, positions = states.times_s, states.positions[:, columns]
    keep = np.concatenate([[True], np.diff(times) > 0.0])  # repeated stamps carry nothing
    times, positions = times[keep], positions[keep]
    if len(times) < 4 or not arrivals_s:
        return 0.0
    derivative = positions
    stamps = times
    for _ in range(3):
        derivative = np.diff(derivative, axis=0) / np.diff(stamps)[:, np.newaxis]
        stamps = 0.5 * (stamps[1:] + stamps[:-1])
    arrivals = np.asarray(arrivals_s, dtype=np.float64)
    near = np.min(np.abs(stamps[:, np.newaxis] - arrivals[np.newaxis, :]), axis=1)
    selected = np.abs(derivative[near <= BOUNDARY_WINDOW_S])
    return float(selected.max()) if selected.size else 0.0


def idle_time_s(trajectories: Sequence[TimedTrajectory], end_s: float) -> float:
    """Time in [first arrival, ``end_s``] when the running trajectory had ended, seconds."""
    idle = 0.0
    for index, timed in enumerate(trajectories):
        finished_s = timed.arrival_s + float(timed.command.times_from_start_s[-1])
        next_s = trajectories[index + 1].arrival_s if index + 1 < len(trajectories) else end_s
        idle += max(0.0, min(next_s, end_s) - finished_s)
    return idle


def measure_smoothness(trajectories: Sequence[TimedTrajectory], states: JointStateSeries, *,
                       joints: Sequence[str], end_s: float) -> SmoothnessMetrics:
    """Every metric of one run of one controller (see the module docstring).

    Args:
        trajectories: what the controller received, in arrival order.
        states: the measured joint positions over the same time.
        joints: the joints to measure (revolute: the metrics are in rad).
        end_s: when the run ended, seconds.
    """
    ordered = sorted(trajectories, key=lambda timed: timed.arrival_s)
    jumps = boundary_jumps(ordered, joints)
    arrivals = [timed.arrival_s for timed in ordered[1:]]
    start_s = ordered[0].arrival_s if ordered else end_s
    return SmoothnessMetrics(
        max_boundary_jump_rad=float(jumps.max()) if jumps.size else 0.0,
        max_jerk_rad_s3=max_boundary_jerk(states, arrivals, joints),
        idle_s=idle_time_s(ordered, end_s), window_s=max(end_s - start_s, 0.0),
        boundaries=len(jumps))
