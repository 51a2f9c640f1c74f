# SPDX-License-Identifier: Apache-2.0
# Copyright 2026 The vla_ros authors
"""Action chunk -> joint trajectory inside the robot's limits, and its split per controller.

The trajectory is what ros2_control's joint_trajectory_controller takes: times relative to a
zero stamp (= start on arrival), first point one time step ahead, velocities from finite
differences so the controller interpolates with cubic splines instead of straight lines.
Safety limits applied on the way: URDF position and velocity limits, ``max_step_rad``, an
optional acceleration limit (URDF ``<limit>`` has none) and an optional enable ramp.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass

import numpy as np
from numpy.typing import NDArray

from vla_ros.core.errors import ConfigError
from vla_ros.core.types import ActionChunk, JointTrajectoryCommand
from vla_ros.execution.joint_limits import JointLimits

__all__ = ['PlannedTrajectory', 'braking_trajectory', 'hold_trajectory', 'plan_trajectory',
           'ramp_scales', 'reachable_from', 'split_by_controller']

#: Time given to the controller to reach a hold point, seconds.
HOLD_TIME_S = 0.05


@dataclass(frozen=True, slots=True)
class PlannedTrajectory:
    """A trajectory ready to send, and how many values the limits changed."""

    command: JointTrajectoryCommand
    corrections: int


def plan_trajectory(chunk: ActionChunk, *, measured: NDArray[np.float64], limits: JointLimits,
                    max_step_rad: float, horizon: int | None = None,
                    max_acceleration_rad_s2: float | None = None,
                    start_velocity: NDArray[np.float64] | None = None,
                    speed_scales: NDArray[np.float64] | None = None) -> PlannedTrajectory:
    """Turn the first ``horizon`` steps of ``chunk`` into a trajectory within ``limits``.

    Positions are clipped to the position limits; each step (the first one measured from the
    robot's current position) is clipped to what the velocity limit allows in one time step,
    and never more than ``max_step_rad``. With an acceleration limit, a step also differs from
    the one before by at most ``max_acceleration_rad_s2 * dt**2``, and slows down early enough
    to stop at its target and at its position limits rather than overshoot them.

    Args:
        chunk: the policy's absolute joint targets.
        measured: (J,) current positions of ``chunk.joint_names``.
        limits: limits of ``chunk.joint_names`` in that order.
        max_step_rad: largest change of any joint between consecutive points.
        horizon: steps to use, all when None.
        max_acceleration_rad_s2: largest change of speed per second, None for none.
        start_velocity: (J,) commanded speed at ``measured``, rad/s; None: at rest.
        speed_scales: (T,) factors in [0, 1] on the velocity and step limits of each step
            (an enable ramp, see ``ramp_scales``); None: 1.
    """
    targets = chunk.positions[:horizon] if horizon else chunk.positions
    clipped = np.clip(targets, limits.lower, limits.upper)
    corrections = int(np.count_nonzero(clipped != targets))
    dt_s = chunk.dt_s
    max_delta = np.minimum(limits.velocity * dt_s, max_step_rad)
    scales = np.ones(len(clipped)) if speed_scales is None else speed_scales[:len(clipped)]
    accel_delta = None if max_acceleration_rad_s2 is None else max_acceleration_rad_s2 * dt_s ** 2
    last_delta = np.zeros(len(measured)) if start_velocity is None else start_velocity * dt_s
    positions = np.empty_like(clipped)
    previous = np.clip(measured, limits.lower, limits.upper)
    first = 0
    if accel_delta is None:  # the steps the limits leave alone, at once; the loop from there
        first = _within_limits(clipped, previous, max_delta, scales, limits, positions)
        if first:  # (last_delta only matters with an acceleration bound)
            previous = positions[first - 1]
    lower, upper = limits.lower, limits.upper
    for step in range(first, len(clipped)):
        # np.minimum(np.maximum(...)) is np.clip's result (bounds ordered, values finite)
        # at a fraction of its call cost on arrays of a few joints: this loop is per step.
        wanted = clipped[step] - previous
        bound = max_delta * scales[step]
        if accel_delta is None:
            delta = np.minimum(np.maximum(wanted, -bound), bound)
        else:
            delta = _limited_step(wanted, last_delta, bound, accel_delta,
                                  (upper - previous, previous - lower))
        corrections += int(np.count_nonzero(delta != wanted))
        # Clip again: previous + (target - previous) can round one ulp past the limit.
        current = np.minimum(np.maximum(previous + delta, lower), upper)
        last_delta, previous = current - previous, current
        positions[step] = current
    return PlannedTrajectory(command=_timed(chunk.joint_names, positions, dt_s),
                             corrections=corrections)


def _within_limits(targets: NDArray[np.float64], start: NDArray[np.float64],
                   max_delta: NDArray[np.float64], scales: NDArray[np.float64],
                   limits: JointLimits, positions: NDArray[np.float64]) -> int:
    """How many leading steps of ``plan_trajectory``'s loop change nothing; their positions.

    Without an acceleration bound, the loop's step k from p to target t is
    ``clip(p + clip(t - p, -m_k, m_k), lower, upper)``. While every step is within its bound
    and ``p + (t - p)`` rounds back to t, the loop's positions are the targets themselves,
    which numpy checks for all steps at once. Writes the first n positions (exactly the loop's)
    into ``positions`` and returns n; the loop continues from step n.
    """
    previous = np.concatenate([start[np.newaxis], targets[:-1]])
    wanted = targets - previous
    reached = np.clip(previous + wanted, limits.lower, limits.upper)
    bound = max_delta * scales[:, np.newaxis]
    unchanged = ((np.abs(wanted) <= bound) & (reached == targets)).all(axis=1)
    count = len(targets) if unchanged.all() else int(np.argmin(unchanged))
    positions[:count] = reached[:count]
    return count


def _timed(joint_names: tuple[str, ...], positions: NDArray[np.float64],
           dt_s: float) -> JointTrajectoryCommand:
    """Points one ``dt_s`` apart from dt_s on, velocities from finite differences, last 0."""
    times = np.asarray(dt_s * np.arange(1, len(positions) + 1), dtype=np.float64)
    velocities = None
    if len(positions) > 1:
        velocities = np.asarray(np.gradient(positions, dt_s, axis=0), dtype=np.float64)
        velocities[-1] = 0.0  # the controller holds the last point at rest
    return JointTrajectoryCommand(joint_names, times, positions, velocities)


def _limited_step(wanted: NDArray[np.float64], last_delta: NDArray[np.float64],
                  max_delta: NDArray[np.float64], accel_delta: float | None,
                  room: tuple[NDArray[np.float64], NDArray[np.float64]]
                  ) -> NDArray[np.float64]:
    """One step towards ``wanted`` within the step bound and, if given, the acceleration bound.

    With an acceleration bound A = a dt**2 the step is first capped at the largest one from
    which the joint can still stop, decelerating by A per step, before its target and before
    its position limits (``room``: distances to the upper and lower limit); then it is kept
    within A of the previous step, then within the step bound again.
    """
    delta = np.clip(wanted, -max_delta, max_delta)
    if accel_delta is None:
        return delta
    up = np.where(wanted > 0.0, np.minimum(wanted, room[0]), room[0])
    down = np.where(wanted < 0.0, np.minimum(-wanted, room[1]), room[1])
    delta = np.clip(delta, -_stoppable_step(down, accel_delta), _stoppable_step(up, accel_delta))
    delta = np.clip(delta, last_delta - accel_delta, last_delta + accel_delta)
    return np.clip(delta, -max_delta, max_delta)


def _stoppable_step(distance: NDArray[np.float64], accel_delta: float) -> NDArray[np.float64]:
    """Largest step after which the joint can still stop within ``distance``, slowing by A a step.

    The steps d, d - A, d - 2A, ... cover at most d**2 / (2A) + d / 2 + A / 8, so
    d = (sqrt(A**2 + 8 A (x - A / 8)) - A) / 2 is safe; a distance of at most A can also be
    covered in one step, since stopping after it changes the step by no more than A.
    """
    braking = np.maximum(distance - accel_delta / 8.0, 0.0)
    step = 0.5 * (np.sqrt(accel_delta ** 2 + 8.0 * accel_delta * braking) - accel_delta)
    return np.asarray(np.maximum(step, np.minimum(np.maximum(distance, 0.0), accel_delta)),
                      dtype=np.float64)


def ramp_scales(times_since_enable_s: NDArray[np.float64], ramp_s: float | None
                ) -> NDArray[np.float64] | None:
    """Speed factors of an enable ramp: 0 when motion is enabled, 1 after ``ramp_s``.

    Args:
        times_since_enable_s: (T,) time of each step after the start from a hold, seconds.
        ramp_s: ramp duration; None: no ramp (returns None).
    """
    if ramp_s is None:
        return None
    return np.asarray(np.clip(times_since_enable_s / ramp_s, 0.0, 1.0), dtype=np.float64)


def hold_trajectory(joint_names: tuple[str, ...],
                    positions: NDArray[np.float64]) -> JointTrajectoryCommand:
    """A one-point trajectory that holds ``positions``."""
    return JointTrajectoryCommand(joint_names, np.array([HOLD_TIME_S]),
                                  np.asarray(positions, dtype=np.float64)[None, :],
                                  np.zeros((1, len(joint_names))))


def braking_trajectory(joint_names: tuple[str, ...], positions: NDArray[np.float64],
                       velocities: NDArray[np.float64], *, limits: JointLimits, period_s: float,
                       max_acceleration_rad_s2: float | None = None) -> JointTrajectoryCommand:
    """Bring joints moving at ``velocities`` from ``positions`` to rest, at a constant rate.

    Every joint decelerates uniformly and stops at the same time T: one control period
    (``period_s``) without an acceleration limit, otherwise the longer of that and the time
    the fastest joint needs at ``max_acceleration_rad_s2``, rounded up to whole periods. The
    points, one period apart, lie on that curve (p + v t - v t**2 / 2T, speed v (1 - t / T)),
    so the controller's cubic splines follow it exactly: no joint moves faster than it does
    now, none moves backwards, and the arm comes to rest where it would stop, not where it was
    measured a moment ago. Positions are kept inside the limits.

    Args:
        joint_names: the joints, in the order of the arrays.
        positions: (J,) where the joints are commanded to be now, rad (m).
        velocities: (J,) how fast they are commanded to move now, rad/s (m/s).
        limits: limits of ``joint_names`` in that order.
        period_s: the control period, seconds (> 0).
        max_acceleration_rad_s2: deceleration bound; None: stop within one period.
    """
    speeds = np.abs(velocities)
    stop_s = period_s
    if max_acceleration_rad_s2 is not None and speeds.size:
        stop_s = max(stop_s, float(np.max(speeds)) / max_acceleration_rad_s2)
    steps = max(int(np.ceil(stop_s / period_s - 1e-9)), 1)
    stop_s = steps * period_s
    times = period_s * np.arange(1, steps + 1, dtype=np.float64)
    elapsed = times[:, np.newaxis]
    braked = positions + velocities * elapsed - velocities * elapsed ** 2 / (2.0 * stop_s)
    braked = np.clip(braked, limits.lower, limits.upper)
    speeds_left = velocities * (1.0 - elapsed / stop_s)
    speeds_left[-1] = 0.0
    return JointTrajectoryCommand(joint_names, times, braked, speeds_left)


def reachable_from(command: JointTrajectoryCommand,
                   references: Sequence[tuple[NDArray[np.float64], float]], *,
                   velocity_limits: NDArray[np.float64]) -> tuple[JointTrajectoryCommand, int]:
    """``command``, re-timed if needed so its first point is reachable from each reference.

    A reference is a position the arm may be at now, with a slack in seconds: where it was
    last measured (slack: the measurement's age, since the arm may have moved meanwhile) and
    where it was last commanded to be (slack 0). The first point must be no further from a
    reference than the velocity limit allows in its ``time_from_start`` plus that slack. If
    it is further, every point is delayed by the missing time, which keeps the steps between
    the points (already within the limits) and bounds the average speed to the first point.

    Returns:
        The command, and how many joints were too far (0: the command unchanged).
    """
    first, first_s = command.positions[0], float(command.times_from_start_s[0])
    needed_s = first_s
    too_far = np.zeros(len(first), dtype=bool)
    finite = np.isfinite(velocity_limits)
    for reference, slack_s in references:
        distance = np.abs(first - reference)
        times = np.zeros(len(first))
        times[finite] = distance[finite] / velocity_limits[finite] - slack_s
        too_far |= times > first_s * (1.0 + 1e-9)
        needed_s = max(needed_s, float(np.max(times, initial=0.0)))
    if not too_far.any():
        return command, 0
    delay_s = needed_s - first_s
    return JointTrajectoryCommand(command.joint_names, command.times_from_start_s + delay_s,
                                  command.positions, command.velocities), int(too_far.sum())


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
