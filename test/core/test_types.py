# SPDX-License-Identifier: Apache-2.0
# Copyright 2026 The vla_ros authors
"""Value types check shapes and values once, at construction: bad ones never get further."""

from __future__ import annotations

from typing import Any

import numpy as np
from numpy.testing import assert_array_equal
import pytest

from vla_ros.core.errors import InputError, PolicyOutputError
from vla_ros.core.types import ActionChunk, JointTrajectoryCommand, Observation

JOINTS = ('joint1', 'joint2')
NAN, INF = float('nan'), float('inf')


def test_action_chunk_stores_float64_positions_and_reports_its_horizon() -> None:
    chunk = ActionChunk(JOINTS, np.array([[1, 2], [3, 4], [5, 6]], dtype=np.int32), dt_s=0.1)
    assert chunk.positions.dtype == np.float64
    assert_array_equal(chunk.positions, [[1.0, 2.0], [3.0, 4.0], [5.0, 6.0]])
    assert chunk.horizon == 3


@pytest.mark.parametrize(('positions', 'match'), [
    ([[0.0, NAN]], r'contains NaN or Inf'),
    ([[0.0, 0.0], [INF, 0.0]], r'contains NaN or Inf'),
    ([[-INF, 0.0]], r'contains NaN or Inf'),
    ([0.0, 0.0], r'shape \(2,\), expected \(T >= 1, 2\)'),
    ([[0.0, 0.0, 0.0]], r'shape \(1, 3\), expected \(T >= 1, 2\)'),
    (np.zeros((0, 2)), r'shape \(0, 2\), expected \(T >= 1, 2\)'),
    (np.zeros((2, 2, 1)), r'shape \(2, 2, 1\)'),
    (1.0, r'shape \(\), expected'),
], ids=['nan', 'inf', 'minus-inf', 'one-dimensional', 'extra-column', 'no-steps', 'three-d',
        'scalar'])
def test_action_chunk_refuses_bad_positions(positions: Any, match: str) -> None:
    with pytest.raises(PolicyOutputError, match=match):
        ActionChunk(JOINTS, positions, dt_s=0.1)


@pytest.mark.parametrize('dt_s', [0.0, -0.1, NAN, INF], ids=['zero', 'negative', 'nan', 'inf'])
def test_action_chunk_refuses_a_non_positive_or_non_finite_time_step(dt_s: float) -> None:
    with pytest.raises(PolicyOutputError, match=r'ActionChunk\.dt_s: .*, expected > 0'):
        ActionChunk(JOINTS, [[0.0, 0.0]], dt_s=dt_s)


def test_action_chunk_refuses_duplicate_joint_names() -> None:
    with pytest.raises(InputError, match=r"duplicate joint names in \('joint1', 'joint1'\)"):
        ActionChunk(('joint1', 'joint1'), [[0.0, 0.0]], dt_s=0.1)


def test_trajectory_command_stores_times_positions_and_velocities() -> None:
    command = JointTrajectoryCommand(JOINTS, [0.1, 0.2], [[0, 1], [2, 3]], [[1, 1], [0, 0]])
    assert_array_equal(command.times_from_start_s, [0.1, 0.2])
    assert command.positions.dtype == np.float64
    assert command.velocities is not None
    assert_array_equal(command.velocities, [[1.0, 1.0], [0.0, 0.0]])


@pytest.mark.parametrize('times', [
    [0.0, 0.1], [-0.1, 0.1], [0.1, 0.1], [0.2, 0.1], [0.1, 0.3, 0.2], [NAN, 0.1], [0.1, INF],
], ids=['starts-at-zero', 'starts-negative', 'repeated', 'decreasing', 'goes-back',
        'nan', 'inf'])
def test_trajectory_command_refuses_times_not_positive_and_strictly_increasing(
        times: list[float]) -> None:
    positions = np.zeros((len(times), 2))
    with pytest.raises(InputError, match=r'must be finite, > 0 and strictly increasing'):
        JointTrajectoryCommand(JOINTS, times, positions)


@pytest.mark.parametrize(('times', 'positions', 'match'), [
    ([], np.zeros((0, 2)), r'0 times and positions \(0, 2\), expected \(N >= 1,\) and \(N, 2\)'),
    ([0.1, 0.2], np.zeros((2, 3)), r'2 times and positions \(2, 3\)'),
    ([0.1, 0.2], np.zeros((3, 2)), r'2 times and positions \(3, 2\)'),
    ([[0.1, 0.2]], np.zeros((1, 2)), r'expected \(N >= 1,\)'),
    (0.1, np.zeros((1, 2)), r'expected \(N >= 1,\)'),
], ids=['empty', 'extra-column', 'more-points-than-times', 'two-d-times', 'scalar-time'])
def test_trajectory_command_refuses_mismatched_shapes(times: Any, positions: Any,
                                                      match: str) -> None:
    with pytest.raises(InputError, match=match):
        JointTrajectoryCommand(JOINTS, times, positions)


@pytest.mark.parametrize(('positions', 'velocities', 'match'), [
    ([[0.0, NAN]], None, r'positions: contains NaN or Inf'),
    ([[0.0, 0.0]], [[0.0, INF]], r'velocities: shape \(1, 2\), expected finite \(1, 2\)'),
    ([[0.0, 0.0]], [[0.0]], r'velocities: shape \(1, 1\), expected finite \(1, 2\)'),
], ids=['nan-position', 'inf-velocity', 'short-velocity'])
def test_trajectory_command_refuses_bad_values(positions: Any, velocities: Any,
                                               match: str) -> None:
    with pytest.raises(InputError, match=match):
        JointTrajectoryCommand(JOINTS, [0.1], positions, velocities)


def test_observation_gives_positions_by_name_in_the_requested_order() -> None:
    observation = Observation(images={}, joint_names=('a', 'b', 'c'),
                              joint_positions=np.array([1.0, 2.0, 3.0]), instruction='go')
    assert_array_equal(observation.positions_for(('c', 'a')), [3.0, 1.0])
    with pytest.raises(InputError, match=r"joint state lacks joints \['d'\]"):
        observation.positions_for(('a', 'd'))


@pytest.mark.parametrize(('images', 'positions', 'match'), [
    ({}, [0.0, NAN], r'joint_positions: non-finite value'),
    ({}, [0.0], r'joint_positions: shape \(1,\), expected \(2,\)'),
    ({'front': np.zeros((4, 4, 3), dtype=np.float32)}, [0.0, 0.0],
     r"images\['front'\]: dtype float32 shape \(4, 4, 3\), expected uint8 \(H, W, 3\) RGB"),
    ({'front': np.zeros((4, 4, 4), dtype=np.uint8)}, [0.0, 0.0], r"images\['front'\]"),
    ({'front': np.zeros((4, 4), dtype=np.uint8)}, [0.0, 0.0], r"images\['front'\]"),
], ids=['nan-position', 'short-positions', 'float-image', 'rgba-image', 'grey-image'])
def test_observation_refuses_bad_inputs(images: Any, positions: list[float], match: str) -> None:
    with pytest.raises(InputError, match=match):
        Observation(images=images, joint_names=JOINTS, joint_positions=np.array(positions),
                    instruction='go')
