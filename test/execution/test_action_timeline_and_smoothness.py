# SPDX-License-Identifier: Apache-2.0
# Copyright 2026 The vla_ros authors
"""The planned command stream's trajectory message, and the smoothness metrics of a run."""

from __future__ import annotations

import numpy as np
from numpy.testing import assert_allclose
import pytest

from vla_ros.core.errors import InputError
from vla_ros.core.types import JointTrajectoryCommand
from vla_ros.execution.action_timeline import ActionTimeline
from vla_ros.execution.smoothness import (
    boundary_jumps,
    idle_time_s,
    JointStateSeries,
    max_boundary_jerk,
    measure_smoothness,
    TimedTrajectory,
)

JOINTS = ('joint1', 'joint2')


def timeline(values: list[float], start_s: float = 1.0) -> ActionTimeline:
    column = np.array(values)
    return ActionTimeline(JOINTS, start_s, 0.1, np.stack([column, -column], axis=1))


def test_trajectory_after_sends_the_rows_still_ahead_timed_from_now() -> None:
    plan = timeline([0.0, 0.1, 0.3, 0.6, 0.8])  # rows at 1.0 .. 1.4 s

    command = plan.trajectory_after(1.15)

    assert command is not None
    assert_allclose(command.times_from_start_s, [0.05, 0.15, 0.25])
    assert_allclose(command.positions[:, 0], [0.3, 0.6, 0.8])
    assert_allclose(command.positions[:, 1], [-0.3, -0.6, -0.8])
    assert command.velocities is not None
    # Central differences with the row before the first point; the last point at rest.
    assert_allclose(command.velocities[:, 0], [2.5, 2.5, 0.0])


def test_trajectory_after_the_last_row_is_none() -> None:
    assert timeline([0.0, 0.1]).trajectory_after(1.1) is None


def test_rows_are_found_and_sampled_by_time() -> None:
    plan = timeline([0.0, 0.2, 0.4])

    assert plan.first_index_after(1.1) == 2  # a row exactly at the time has passed
    assert plan.remaining_steps(0.5) == 3
    assert_allclose(plan.sample(np.array([0.9, 1.05, 1.5]))[:, 0], [0.0, 0.1, 0.4])
    assert_allclose(plan.velocity_at(2), [2.0, -2.0])


def test_splice_keeps_earlier_rows_and_trim_drops_old_ones_on_the_same_grid() -> None:
    plan = timeline([0.0, 0.1, 0.2, 0.3]).spliced(2, np.array([[0.5, -0.5], [0.7, -0.7]]))

    assert_allclose(plan.positions[:, 0], [0.0, 0.1, 0.5, 0.7])
    trimmed = plan.trimmed(1.25, keep_rows=1)
    assert trimmed.start_s == pytest.approx(1.2)
    assert_allclose(trimmed.positions[:, 0], [0.5, 0.7])


def test_timeline_of_the_wrong_width_is_an_input_error() -> None:
    with pytest.raises(InputError, match=r'shape \(2, 3\), expected \(N >= 1, 2\)'):
        ActionTimeline(JOINTS, 0.0, 0.1, np.zeros((2, 3)))


def trajectory(arrival_s: float, times: list[float], values: list[float]) -> TimedTrajectory:
    column = np.array(values)
    command = JointTrajectoryCommand(JOINTS, np.array(times), np.stack([column, column], 1))
    return TimedTrajectory(arrival_s, command)


def test_boundary_jump_compares_the_new_first_point_with_the_running_trajectory() -> None:
    runs = [trajectory(0.0, [0.1, 0.2, 0.3], [0.1, 0.2, 0.3]),
            trajectory(0.15, [0.05, 0.15], [0.2, 0.3]),      # continues: 0.2 at 0.2 s
            trajectory(0.3, [0.1], [0.45]),                   # 0.3 was held: 0.15 jump
            trajectory(0.45, [0.05], [0.45])]                 # still holding 0.45

    assert_allclose(boundary_jumps(runs, JOINTS), [0.0, 0.15, 0.0], atol=1e-12)


def test_idle_time_counts_waits_between_an_end_and_the_next_arrival() -> None:
    runs = [trajectory(0.0, [0.1, 0.5], [0.0, 0.0]),   # ends at 0.5
            trajectory(0.7, [0.1, 0.2], [0.0, 0.0]),   # 0.2 s idle before; ends at 0.9
            trajectory(0.8, [0.1, 0.4], [0.0, 0.0])]   # replaces it; ends at 1.2

    assert idle_time_s(runs, end_s=1.5) == pytest.approx(0.2 + 0.3)


def test_jerk_of_a_cubic_motion_is_its_constant_third_derivative() -> None:
    times = np.arange(0.0, 1.0, 0.02)
    positions = np.stack([2.0 * times ** 3, 0.5 * times ** 3], axis=1)  # jerk 12 and 3
    states = JointStateSeries(JOINTS, times, positions)

    assert max_boundary_jerk(states, [0.5], JOINTS) == pytest.approx(12.0)
    assert max_boundary_jerk(states, [0.5], ('joint2',)) == pytest.approx(3.0)
    assert max_boundary_jerk(states, [], JOINTS) == 0.0


def test_smoothness_of_a_run_collects_every_metric() -> None:
    runs = [trajectory(0.0, [0.1, 0.2], [0.1, 0.2]), trajectory(0.4, [0.1], [0.5])]
    times = np.arange(0.0, 1.0, 0.02)
    states = JointStateSeries(JOINTS, times, np.zeros((len(times), 2)))

    metrics = measure_smoothness(runs, states, joints=JOINTS, end_s=1.0)

    assert metrics.max_boundary_jump_rad == pytest.approx(0.3)
    assert metrics.max_jerk_rad_s3 == 0.0
    assert metrics.idle_s == pytest.approx(0.2 + 0.5)
    assert metrics.idle_fraction == pytest.approx(0.7)
    assert metrics.boundaries == 1
