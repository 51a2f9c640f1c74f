# SPDX-License-Identifier: Apache-2.0
# Copyright 2026 The vla_ros authors
"""Chunk planning: whatever the policy outputs, the trajectory stays within the robot's limits.

The properties run on the tabletop arm's URDF limits with chunks of any finite values (huge
ones included), any measured position within the limits, any time step and any horizon.
"""

from __future__ import annotations

from pathlib import Path

from hypothesis import given, settings
from hypothesis import strategies as st
from hypothesis.extra.numpy import arrays
import numpy as np
from numpy.testing import assert_allclose, assert_array_equal
from numpy.typing import NDArray
import pytest

from vla_ros.core.errors import ConfigError, PolicyOutputError
from vla_ros.core.types import ActionChunk, JointTrajectoryCommand
from vla_ros.execution.chunk_planner import (
    braking_trajectory,
    HOLD_TIME_S,
    hold_trajectory,
    plan_trajectory,
    reachable_from,
    split_by_controller,
)
from vla_ros.execution.joint_limits import load_urdf_limits

URDF = Path(__file__).resolve().parents[2] / 'urdf' / 'tabletop_arm.urdf'
ARM = ('joint1', 'joint2', 'joint3', 'joint4', 'joint5', 'joint6')
JOINTS = (*ARM, 'gripper_joint')
CONTROLLERS = {'arm_controller': ARM, 'gripper_controller': ('gripper_joint',)}
LIMITS = load_urdf_limits(URDF).subset(JOINTS)
#: Rounding allowance when comparing a step with its bound.
TOLERANCE = 1e-9
#: Hypothesis settings of every property: no per-example deadline (a timing assertion).
PROPERTY = settings(deadline=None)

finite_positions = st.one_of(
    st.floats(-5.0, 5.0),
    st.floats(allow_nan=False, allow_infinity=False))
time_steps_s = st.floats(1e-3, 1.0)
max_steps_rad = st.floats(1e-3, 2.0)
horizons = st.none() | st.integers(1, 30)


@st.composite
def measured_positions(draw: st.DrawFn) -> NDArray[np.float64]:
    """A position of every joint within its URDF limits (limits included)."""
    fractions = draw(arrays(np.float64, len(JOINTS), elements=st.floats(0.0, 1.0)))
    return np.clip(LIMITS.lower + fractions * (LIMITS.upper - LIMITS.lower),
                   LIMITS.lower, LIMITS.upper)


@st.composite
def any_chunks(draw: st.DrawFn) -> ActionChunk:
    """A chunk of any finite targets, 1 to 20 steps."""
    steps = draw(st.integers(1, 20))
    positions = draw(arrays(np.float64, (steps, len(JOINTS)), elements=finite_positions))
    return ActionChunk(JOINTS, positions, dt_s=draw(time_steps_s))


def _step_bound(dt_s: float, max_step_rad: float) -> NDArray[np.float64]:
    return np.minimum(LIMITS.velocity * dt_s, max_step_rad)


def _expected_points(chunk: ActionChunk, horizon: int | None) -> int:
    return chunk.horizon if horizon is None else min(horizon, chunk.horizon)


@PROPERTY
@given(chunk=any_chunks(), measured=measured_positions(), max_step_rad=max_steps_rad,
       horizon=horizons)
def test_planned_points_never_leave_the_urdf_position_limits(
        chunk: ActionChunk, measured: NDArray[np.float64], max_step_rad: float,
        horizon: int | None) -> None:
    positions = plan_trajectory(chunk, measured=measured, limits=LIMITS,
                                max_step_rad=max_step_rad, horizon=horizon).command.positions
    assert positions.shape == (_expected_points(chunk, horizon), len(JOINTS))
    assert np.all(positions >= LIMITS.lower)
    assert np.all(positions <= LIMITS.upper)


@PROPERTY
@given(chunk=any_chunks(), measured=measured_positions(), max_step_rad=max_steps_rad,
       horizon=horizons)
def test_planned_steps_never_exceed_the_velocity_or_step_limit(
        chunk: ActionChunk, measured: NDArray[np.float64], max_step_rad: float,
        horizon: int | None) -> None:
    positions = plan_trajectory(chunk, measured=measured, limits=LIMITS,
                                max_step_rad=max_step_rad, horizon=horizon).command.positions
    bound = _step_bound(chunk.dt_s, max_step_rad) + TOLERANCE
    assert np.all(np.abs(positions[0] - measured) <= bound)
    assert np.all(np.abs(np.diff(positions, axis=0)) <= bound)


@PROPERTY
@given(chunk=any_chunks(), measured=measured_positions(), max_step_rad=max_steps_rad,
       horizon=horizons)
def test_planned_times_start_one_step_ahead_and_the_trajectory_ends_at_rest(
        chunk: ActionChunk, measured: NDArray[np.float64], max_step_rad: float,
        horizon: int | None) -> None:
    command = plan_trajectory(chunk, measured=measured, limits=LIMITS,
                              max_step_rad=max_step_rad, horizon=horizon).command
    points = _expected_points(chunk, horizon)
    assert_allclose(command.times_from_start_s, chunk.dt_s * np.arange(1, points + 1),
                    rtol=1e-12)
    assert command.times_from_start_s[0] == chunk.dt_s
    assert np.all(np.diff(command.times_from_start_s) > 0.0)
    if points == 1:
        assert command.velocities is None  # one point: the controller interpolates linearly
    else:
        assert command.velocities is not None
        assert_array_equal(command.velocities[-1], np.zeros(len(JOINTS)))
        # Finite differences of limited steps stay within the velocity limits.
        assert np.all(np.abs(command.velocities) <= LIMITS.velocity + TOLERANCE / chunk.dt_s)


@st.composite
def feasible_cases(draw: st.DrawFn) -> tuple[ActionChunk, NDArray[np.float64], float]:
    """A chunk that already respects every limit from ``measured``, with a margin."""
    measured = draw(measured_positions())
    dt_s, max_step_rad = draw(time_steps_s), draw(max_steps_rad)
    steps = draw(st.integers(1, 20))
    fractions = draw(arrays(np.float64, (steps, len(JOINTS)), elements=st.floats(-0.9, 0.9)))
    bound = _step_bound(dt_s, max_step_rad)
    targets, previous = [], measured
    for fraction in fractions:
        # Clipping towards the inside of the limits only shortens a step.
        previous = np.clip(previous + fraction * bound, LIMITS.lower, LIMITS.upper)
        targets.append(previous)
    return ActionChunk(JOINTS, np.array(targets), dt_s=dt_s), measured, max_step_rad


@PROPERTY
@given(case=feasible_cases(), horizon=horizons)
def test_feasible_chunk_is_planned_unchanged_without_corrections(
        case: tuple[ActionChunk, NDArray[np.float64], float], horizon: int | None) -> None:
    chunk, measured, max_step_rad = case
    planned = plan_trajectory(chunk, measured=measured, limits=LIMITS,
                              max_step_rad=max_step_rad, horizon=horizon)
    assert planned.corrections == 0
    points = _expected_points(chunk, horizon)
    assert_allclose(planned.command.positions, chunk.positions[:points], rtol=0, atol=1e-12)


@settings(deadline=None, max_examples=30)
@given(positions=arrays(np.float64, (3, len(JOINTS)), elements=st.floats(-1.0, 1.0)),
       row=st.integers(0, 2), column=st.integers(0, len(JOINTS) - 1),
       bad=st.sampled_from([float('nan'), float('inf'), float('-inf')]))
def test_non_finite_chunk_is_refused_before_it_can_be_planned(
        positions: NDArray[np.float64], row: int, column: int, bad: float) -> None:
    positions[row, column] = bad
    with pytest.raises(PolicyOutputError, match=r'contains NaN or Inf'):
        ActionChunk(JOINTS, positions, dt_s=0.1)


def _joint1_chunk(targets: list[float], dt_s: float = 0.1) -> ActionChunk:
    return ActionChunk(('joint1',), np.array(targets)[:, None], dt_s=dt_s)


@pytest.mark.parametrize(('targets', 'measured', 'max_step_rad', 'expected', 'corrections'), [
    ([3.5, 3.5], 2.8, 0.5, [2.9, 2.9], 2),
    ([-9.0], -2.85, 0.5, [-2.9], 1),
    ([1.0] * 4, 0.0, 0.5, [0.2, 0.4, 0.6, 0.8], 4),
    ([1.0] * 4, 0.0, 0.05, [0.05, 0.1, 0.15, 0.2], 4),
    ([0.1, 0.2, 0.1], 0.0, 0.5, [0.1, 0.2, 0.1], 0),
], ids=['beyond-upper-limit', 'beyond-lower-limit', 'velocity-limited', 'step-limited',
        'feasible'])
def test_joint1_targets_are_limited_as_the_urdf_and_max_step_say(
        targets: list[float], measured: float, max_step_rad: float, expected: list[float],
        corrections: int) -> None:
    # joint1: limits +-2.9 rad, 2.0 rad/s, so 0.2 rad per 0.1 s step.
    planned = plan_trajectory(_joint1_chunk(targets), measured=np.array([measured]),
                              limits=LIMITS.subset(['joint1']), max_step_rad=max_step_rad)
    assert_allclose(planned.command.positions[:, 0], expected, atol=1e-12)
    assert planned.corrections == corrections


def test_velocities_are_finite_differences_ending_at_rest() -> None:
    planned = plan_trajectory(_joint1_chunk([1.0] * 4), measured=np.array([0.0]),
                              limits=LIMITS.subset(['joint1']), max_step_rad=0.5)
    assert planned.command.velocities is not None
    assert_allclose(planned.command.velocities[:, 0], [2.0, 2.0, 2.0, 0.0], atol=1e-9)
    assert_allclose(planned.command.times_from_start_s, [0.1, 0.2, 0.3, 0.4])


def test_horizon_keeps_only_the_first_steps() -> None:
    planned = plan_trajectory(_joint1_chunk([0.1, 0.2, 0.3, 0.4]), measured=np.array([0.0]),
                              limits=LIMITS.subset(['joint1']), max_step_rad=0.5, horizon=2)
    assert_allclose(planned.command.positions[:, 0], [0.1, 0.2])
    assert_allclose(planned.command.times_from_start_s, [0.1, 0.2])


def test_hold_trajectory_is_one_point_at_rest() -> None:
    hold = hold_trajectory(('joint1', 'gripper_joint'), np.array([0.5, 0.02]))
    assert hold.joint_names == ('joint1', 'gripper_joint')
    assert_array_equal(hold.times_from_start_s, [HOLD_TIME_S])
    assert_array_equal(hold.positions, [[0.5, 0.02]])
    assert hold.velocities is not None
    assert_array_equal(hold.velocities, [[0.0, 0.0]])


def _numbered_command(with_velocities: bool) -> JointTrajectoryCommand:
    """Two points; position (k, j) is 10 k + j, velocity its negative, so columns are traceable."""
    positions = np.array([[10.0 * k + j for j in range(len(JOINTS))] for k in range(2)])
    return JointTrajectoryCommand(JOINTS, np.array([0.1, 0.2]), positions,
                                  -positions if with_velocities else None)


@pytest.mark.parametrize('with_velocities', [True, False], ids=['velocities', 'positions-only'])
def test_split_gives_each_controller_exactly_its_joints_and_columns(
        with_velocities: bool) -> None:
    controllers = {'wrist_controller': ('joint6', 'joint5'),
                   'gripper_controller': ('gripper_joint',),
                   'base_controller': ('joint1', 'joint2', 'joint3', 'joint4')}
    split = split_by_controller(_numbered_command(with_velocities), controllers)
    assert list(split) == list(controllers)
    for controller, joints in controllers.items():
        command = split[controller]
        columns = [JOINTS.index(joint) for joint in joints]
        expected = np.array([[10.0 * k + j for j in columns] for k in range(2)])
        assert command.joint_names == joints, controller
        assert_array_equal(command.times_from_start_s, [0.1, 0.2])
        assert_array_equal(command.positions, expected)
        if with_velocities:
            assert command.velocities is not None
            assert_array_equal(command.velocities, -expected)
        else:
            assert command.velocities is None


def test_split_for_a_controller_joint_the_command_lacks_raises_config_error() -> None:
    command = _numbered_command(with_velocities=False)
    partial = JointTrajectoryCommand(ARM, command.times_from_start_s, command.positions[:, :6])
    with pytest.raises(ConfigError,
                       match=r"controller 'gripper_controller' needs joints \['gripper_joint'\]"):
        split_by_controller(partial, CONTROLLERS)


@st.composite
def motions(draw: st.DrawFn) -> tuple[NDArray[np.float64], NDArray[np.float64]]:
    """A position within the limits and a speed of each joint within its velocity limit."""
    positions = draw(measured_positions())
    fractions = draw(arrays(np.float64, len(JOINTS), elements=st.floats(-1.0, 1.0)))
    return positions, fractions * LIMITS.velocity


@PROPERTY
@given(motion=motions(), period_s=st.floats(0.01, 0.5),
       acceleration=st.none() | st.floats(0.1, 50.0))
def test_a_brake_slows_every_joint_steadily_to_rest_and_never_moves_it_back(
        motion: tuple[NDArray[np.float64], NDArray[np.float64]], period_s: float,
        acceleration: float | None) -> None:
    positions, velocities = motion
    brake = braking_trajectory(JOINTS, positions, velocities, limits=LIMITS,
                               period_s=period_s, max_acceleration_rad_s2=acceleration)
    times = brake.times_from_start_s
    assert brake.velocities is not None
    assert_allclose(times, period_s * np.arange(1, len(times) + 1))
    assert_array_equal(brake.velocities[-1], 0.0)
    path = np.vstack([positions, brake.positions])
    steps = np.diff(path, axis=0)
    # Never backwards: each step goes the way the joint was moving (or nowhere).
    assert np.all(steps * np.sign(velocities) >= -TOLERANCE)
    # Never faster than now: each step at most the current speed times the period.
    assert np.all(np.abs(steps) <= np.abs(velocities) * period_s + TOLERANCE)
    assert np.all((brake.positions >= LIMITS.lower - TOLERANCE)
                  & (brake.positions <= LIMITS.upper + TOLERANCE))
    stop_s = times[-1]
    if acceleration is None:
        assert len(times) == 1
    else:  # uniform deceleration |v| / T within the bound, and no longer than needed
        assert np.all(np.abs(velocities) / stop_s <= acceleration * (1 + 1e-9))
        assert stop_s < max(np.max(np.abs(velocities)) / acceleration, 0.0) + period_s + 1e-9


def test_a_brake_without_an_acceleration_limit_stops_half_a_period_ahead_at_rest() -> None:
    positions = np.array([0.5, 0.0, 1.0, 0.0, 0.0, 0.0, 0.02])
    velocities = np.array([1.0, -0.4, 0.0, 0.0, 0.0, 0.0, 0.0])
    brake = braking_trajectory(JOINTS, positions, velocities, limits=LIMITS, period_s=0.1)
    assert_allclose(brake.times_from_start_s, [0.1])
    assert_allclose(brake.positions, [positions + velocities * 0.05])  # mean speed v / 2
    assert brake.velocities is not None
    assert_array_equal(brake.velocities, 0.0)


def test_a_brake_within_an_acceleration_limit_follows_the_uniform_deceleration() -> None:
    positions, velocities = np.zeros(7), np.array([2.0, 0, 0, 0, 0, 0, 0])
    brake = braking_trajectory(JOINTS, positions, velocities, limits=LIMITS, period_s=0.1,
                               max_acceleration_rad_s2=5.0)  # 2 rad/s -> 0 in 0.4 s
    t = np.array([0.1, 0.2, 0.3, 0.4])
    assert_allclose(brake.times_from_start_s, t)
    assert_allclose(brake.positions[:, 0], 2.0 * t - 2.0 * t ** 2 / 0.8)
    assert brake.velocities is not None
    assert_allclose(brake.velocities[:, 0], 2.0 * (1 - t / 0.4))


def test_a_first_point_the_arm_cannot_reach_in_time_delays_the_whole_trajectory() -> None:
    command = JointTrajectoryCommand(('joint1', 'joint2'), np.array([0.1, 0.2]),
                                     np.array([[1.0, 0.0], [1.1, 0.0]]))
    limits = np.array([2.0, 2.0])
    # From 0.9 (0.1 rad away) it is reachable in 0.1 s at 2 rad/s: unchanged.
    same, too_far = reachable_from(command, [(np.array([0.9, 0.0]), 0.0)],
                                   velocity_limits=limits)
    assert (same, too_far) == (command, 0)
    # From 0.5 it needs 0.25 s: every point 0.15 s later, one joint counted.
    later, too_far = reachable_from(command, [(np.array([0.9, 0.0]), 0.0),
                                              (np.array([0.5, 0.0]), 0.0)],
                                    velocity_limits=limits)
    assert too_far == 1
    assert_allclose(later.times_from_start_s, [0.25, 0.35])
    assert_array_equal(later.positions, command.positions)
    # A measurement 0.15 s old may be 0.3 rad behind the arm: reachable again.
    aged, too_far = reachable_from(command, [(np.array([0.5, 0.0]), 0.15)],
                                   velocity_limits=limits)
    assert (aged, too_far) == (command, 0)
    # A joint without a velocity limit is never too far.
    free, too_far = reachable_from(command, [(np.array([-5.0, 0.0]), 0.0)],
                                   velocity_limits=np.array([np.inf, 2.0]))
    assert (free, too_far) == (command, 0)
