# SPDX-License-Identifier: Apache-2.0
# Copyright 2026 The vla_ros authors
"""TrajectoryFollower follows joint_trajectory_controller semantics: names, timing, replacement."""

from __future__ import annotations

import numpy as np
from numpy.testing import assert_allclose
import pytest

from vla_ros.core.errors import InputError
from vla_ros.core.types import JointTrajectoryCommand
from vla_ros.sim.trajectory_follower import TrajectoryFollower

JOINTS = ('a', 'b', 'c')


def make_follower(initial: tuple[float, ...] = (0.0, 0.0, 0.0)) -> TrajectoryFollower:
    return TrajectoryFollower(JOINTS, np.array(initial))


def command(times_s: list[float], positions: list[list[float]], *,
            names: tuple[str, ...] = JOINTS,
            velocities: list[list[float]] | None = None) -> JointTrajectoryCommand:
    return JointTrajectoryCommand(
        joint_names=names, times_from_start_s=np.array(times_s), positions=np.array(positions),
        velocities=None if velocities is None else np.array(velocities))


def test_holds_initial_positions_until_a_command() -> None:
    follower = make_follower((0.1, -0.2, 0.3))
    assert_allclose(follower.sample(0.0), [0.1, -0.2, 0.3])
    assert_allclose(follower.sample(1e6), [0.1, -0.2, 0.3])
    assert follower.is_done(0.0)


def test_linear_hits_waypoints_and_interpolates_between_them() -> None:
    follower = make_follower()
    follower.accept(command([1.0, 3.0], [[1.0, 2.0, -1.0], [3.0, 2.0, 1.0]]), now_s=10.0)
    assert_allclose(follower.sample(10.0), [0.0, 0.0, 0.0])
    assert_allclose(follower.sample(10.5), [0.5, 1.0, -0.5])
    assert_allclose(follower.sample(11.0), [1.0, 2.0, -1.0])
    assert_allclose(follower.sample(12.0), [2.0, 2.0, 0.0])
    assert_allclose(follower.sample(13.0), [3.0, 2.0, 1.0])
    assert_allclose(follower.sample_velocities(12.0), [1.0, 0.0, 1.0])


def test_cubic_hits_waypoints_with_their_velocities() -> None:
    follower = make_follower()
    follower.accept(command([1.0, 2.0], [[1.0, 1.0, 1.0], [2.0, 0.0, 1.0]],
                           velocities=[[1.0, -1.0, 0.0], [0.0, 0.0, 0.0]]), now_s=0.0)
    assert_allclose(follower.sample(1.0), [1.0, 1.0, 1.0], atol=1e-12)
    assert_allclose(follower.sample_velocities(1.0 + 1e-9), [1.0, -1.0, 0.0], atol=1e-6)
    assert_allclose(follower.sample(2.0), [2.0, 0.0, 1.0], atol=1e-12)
    # From rest at 0 to 1 with end velocity 1: Hermite at s = 0.5 gives 0.5 - 0.125 = 0.375,
    # where linear interpolation would give 0.5.
    assert_allclose(follower.sample(0.5)[0], 0.375)
    # Between the waypoints joint 'c' has zero velocity at both ends: it stays at 1 exactly.
    assert_allclose(follower.sample(1.5)[2], 1.0)


def test_holds_last_point_after_the_end() -> None:
    follower = make_follower()
    follower.accept(command([0.5, 1.0], [[1.0, 1.0, 1.0], [2.0, -2.0, 0.5]]), now_s=0.0)
    assert not follower.is_done(0.99)
    assert follower.is_done(1.0)
    for now_s in (1.0, 1.5, 100.0):
        assert_allclose(follower.sample(now_s), [2.0, -2.0, 0.5])
        assert_allclose(follower.sample_velocities(now_s), [0.0, 0.0, 0.0])


def test_joints_are_matched_by_name_in_any_order() -> None:
    follower = make_follower()
    follower.accept(command([1.0], [[3.0, 1.0, 2.0]], names=('c', 'a', 'b')), now_s=0.0)
    assert_allclose(follower.sample(1.0), [1.0, 2.0, 3.0])
    assert_allclose(follower.sample(0.5), [0.5, 1.0, 1.5])


@pytest.mark.parametrize(('names', 'message'), [
    (('a', 'b', 'c', 'd'), r"unknown joints \['d'\], missing joints \[\]"),
    (('a', 'b'), r"unknown joints \[\], missing joints \['c'\]"),
    (('a', 'b', 'x'), r"unknown joints \['x'\], missing joints \['c'\]"),
], ids=['unknown', 'missing', 'unknown_and_missing'])
def test_rejects_unknown_or_missing_joints_and_keeps_running(
        names: tuple[str, ...], message: str) -> None:
    follower = make_follower()
    follower.accept(command([2.0], [[2.0, 2.0, 2.0]]), now_s=0.0)
    bad = command([1.0], [[9.0] * len(names)], names=names)
    with pytest.raises(InputError, match=message):
        follower.accept(bad, now_s=1.0)
    assert_allclose(follower.sample(1.0), [1.0, 1.0, 1.0])
    assert_allclose(follower.sample(2.0), [2.0, 2.0, 2.0])


def test_new_command_replaces_running_one_from_the_desired_state() -> None:
    follower = make_follower()
    follower.accept(command([1.0], [[1.0, 0.0, -1.0]]), now_s=0.0)
    # Arrives half way, when the desired state is (0.5, 0, -0.5); the old goal is forgotten.
    follower.accept(command([1.0], [[0.0, 1.0, 0.0]]), now_s=0.5)
    assert_allclose(follower.sample(0.5), [0.5, 0.0, -0.5])
    assert_allclose(follower.sample(1.0), [0.25, 0.5, -0.25])
    assert_allclose(follower.sample(1.5), [0.0, 1.0, 0.0])
    assert_allclose(follower.sample(5.0), [0.0, 1.0, 0.0])


def test_cubic_replacement_continues_the_desired_velocity() -> None:
    follower = make_follower()
    follower.accept(command([2.0], [[2.0, 0.0, 0.0]]), now_s=0.0)  # linear: 1 rad/s on 'a'
    follower.accept(command([1.0], [[2.0, 0.0, 0.0]], velocities=[[0.0, 0.0, 0.0]]), now_s=1.0)
    assert_allclose(follower.sample_velocities(1.0 + 1e-9), [1.0, 0.0, 0.0], atol=1e-6)
    assert_allclose(follower.sample(2.0), [2.0, 0.0, 0.0])


def test_future_start_waits_and_past_start_skips_ahead() -> None:
    follower = make_follower()
    follower.accept(command([1.0], [[4.0, 0.0, 0.0]]), now_s=0.0, start_s=3.0)
    assert_allclose(follower.sample(2.0)[0], 2.0)  # one line from (0, 0) to (4, 4)
    assert follower.is_done(4.0)
    follower.hold([0.0, 0.0, 0.0])
    follower.accept(command([1.0, 3.0], [[1.0, 0.0, 0.0], [3.0, 0.0, 0.0]]), now_s=2.0,
                    start_s=0.0)
    assert_allclose(follower.sample(2.0), [2.0, 0.0, 0.0])


def test_rejects_a_command_that_ends_in_the_past() -> None:
    follower = make_follower()
    with pytest.raises(InputError, match='entirely in the past'):
        follower.accept(command([1.0], [[1.0, 1.0, 1.0]]), now_s=5.0, start_s=3.0)
    assert_allclose(follower.sample(5.0), [0.0, 0.0, 0.0])


def test_hold_replaces_the_trajectory() -> None:
    follower = make_follower()
    follower.accept(command([1.0], [[1.0, 1.0, 1.0]]), now_s=0.0)
    follower.hold(follower.sample(0.25))
    assert follower.is_done(0.3)
    assert_allclose(follower.sample(10.0), [0.25, 0.25, 0.25])


@pytest.mark.parametrize('positions', [[0.0, 0.0], [0.0, np.nan, 0.0], [0.0, 0.0, np.inf]],
                         ids=['wrong_size', 'nan', 'inf'])
def test_hold_rejects_bad_positions(positions: list[float]) -> None:
    with pytest.raises(InputError, match='hold positions'):
        make_follower().hold(np.array(positions))


def test_rejects_duplicate_joint_names() -> None:
    with pytest.raises(InputError, match='duplicates'):
        TrajectoryFollower(('a', 'a'), np.zeros(2))
