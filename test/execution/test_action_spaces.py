# SPDX-License-Identifier: Apache-2.0
# Copyright 2026 The vla_ros authors
"""Raw chunks in every declared action space become absolute joint targets within the limits."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from hypothesis import given, settings
from hypothesis import strategies as st
from hypothesis.extra.numpy import arrays
import numpy as np
from numpy.testing import assert_allclose, assert_array_equal
from numpy.typing import NDArray
import pytest

from vla_ros.core.action_space_config import (
    ActionSpaceConfig,
    GripperGroup,
    parse_action_space,
    RotationRepresentation,
)
from vla_ros.core.errors import ConfigError, InputError, PolicyOutputError
from vla_ros.core.rotations import matrix_to_vector, rotation_angle
from vla_ros.execution.action_spaces import ActionSpaceConverter, GripperMapping
from vla_ros.execution.joint_limits import load_urdf_limits
from vla_ros.execution.kinematics import ArmKinematics, Pose

ROOT = Path(__file__).resolve().parents[2]
URDF = ROOT / 'urdf' / 'tabletop_arm.urdf'
ARM = ('joint1', 'joint2', 'joint3', 'joint4', 'joint5', 'joint6')
CONTROLLERS = {'arm_controller': ARM, 'gripper_controller': ('gripper_joint',)}
HOME = np.array([0.0, 0.4, 1.7, 0.0, 1.04, 0.0])
OPEN = 0.04
DT_S = 0.1
KINEMATICS = ArmKinematics(URDF, ARM, 'ee_link')
LIMITS = load_urdf_limits(URDF).subset([*ARM, 'gripper_joint'])


def converter_for(arm: dict[str, Any], gripper: dict[str, Any] | None = None
                  ) -> ActionSpaceConverter:
    config = parse_action_space(
        {'arm_controller': arm, 'gripper_controller': gripper or {'type': 'gripper'}},
        controllers=CONTROLLERS)
    return ActionSpaceConverter(config, urdf_path=URDF)


#: name -> (declaration, how a row encodes pose k given pose k - 1 and the observed pose 0).
def _delta(previous: Pose, pose: Pose, rotation: RotationRepresentation) -> NDArray[np.float64]:
    return np.concatenate([pose.position_m - previous.position_m,
                           matrix_to_vector(rotation, pose.rotation @ previous.rotation.T)])


def _tool_delta(previous: Pose, pose: Pose) -> NDArray[np.float64]:
    move = previous.inverse().compose(pose)
    return np.concatenate([move.position_m, matrix_to_vector(RotationRepresentation.EULER,
                                                             move.rotation)])


def _absolute(pose: Pose, rotation: RotationRepresentation) -> NDArray[np.float64]:
    return np.concatenate([pose.position_m, matrix_to_vector(rotation, pose.rotation)])


ENCODINGS = {
    'euler_chained': ({'rotation': 'euler'},
                      lambda first, previous, pose: _delta(previous, pose,
                                                           RotationRepresentation.EULER)),
    'axis_angle_from_observation': (
        {'rotation': 'axis_angle', 'delta_reference': 'observation'},
        lambda first, previous, pose: _delta(first, pose, RotationRepresentation.AXIS_ANGLE)),
    'rotation_6d_chained': ({'rotation': 'rotation_6d'},
                            lambda first, previous, pose: _delta(
                                previous, pose, RotationRepresentation.ROTATION_6D)),
    'tool_frame_chained': ({'reference_frame': 'ee_link'},
                           lambda first, previous, pose: _tool_delta(previous, pose)),
    'absolute_pose_6d': ({'type': 'ee_pose', 'rotation': 'rotation_6d'},
                         lambda first, previous, pose: _absolute(
                             pose, RotationRepresentation.ROTATION_6D)),
}
#: Speed limits above anything the paths below ask for: these converters clamp nothing.
FAST = {'max_linear_speed_m_s': 5.0, 'max_angular_speed_rad_s': 20.0}
CONVERTERS = {name: converter_for({'type': 'ee_delta', 'frame': 'ee_link', **FAST,
                                   **declaration})
              for name, (declaration, _) in ENCODINGS.items()}

#: (offset of the start from HOME, per-row joint steps): every path stays 0.1 rad or more
#: inside the URDF limits, so each of its poses is reachable.
joint_paths = st.tuples(
    arrays(np.float64, 6, elements=st.floats(-0.4, 0.4)),
    st.integers(1, 8).flatmap(
        lambda rows: arrays(np.float64, (rows, 6), elements=st.floats(-0.05, 0.05))))


@pytest.mark.parametrize('encoding', list(ENCODINGS))
@given(path=joint_paths)
@settings(max_examples=25, deadline=None)
def test_fk_of_converted_chunk_reproduces_the_end_effector_path(
        encoding: str, path: tuple[NDArray[np.float64], NDArray[np.float64]]) -> None:
    offset, steps = path
    measured = HOME + offset
    joints = measured + np.cumsum(steps, axis=0)
    poses = [KINEMATICS.frame_pose(row) for row in joints]
    first = KINEMATICS.frame_pose(measured)
    encode = ENCODINGS[encoding][1]
    arm_rows = [encode(first, previous, pose) for previous, pose in zip([first, *poses], poses)]
    raw = np.column_stack([np.array(arm_rows), np.full(len(poses), 1.0)])

    converted = CONVERTERS[encoding].convert(raw, np.append(measured, OPEN), dt_s=DT_S)

    for row, pose in zip(converted.positions, poses):
        reached = KINEMATICS.frame_pose(row[:6])
        assert np.linalg.norm(reached.position_m - pose.position_m) < 1e-5
        assert rotation_angle(reached.rotation @ pose.rotation.T) < 1e-4
    assert converted.report.unreachable_steps == 0
    assert converted.report.clamped_values == 0
    assert_array_equal(converted.positions[:, 6], OPEN)


EULER = converter_for({'type': 'ee_delta', 'frame': 'ee_link'})


@given(arrays(np.float64, 6, elements=st.floats(0.0, 1.0)),
       st.integers(1, 6).flatmap(lambda rows: arrays(
           np.float64, (rows, 7), elements=st.floats(-2.0, 2.0))))
@settings(max_examples=40, deadline=None)
def test_garbage_end_effector_chunks_never_leave_the_limits_or_jump(
        unit: NDArray[np.float64], raw: NDArray[np.float64]) -> None:
    measured = np.append(LIMITS.lower[:6] + unit * (LIMITS.upper[:6] - LIMITS.lower[:6]), 0.02)

    converted = EULER.convert(raw, measured, dt_s=DT_S)

    positions = converted.positions
    assert np.all(positions >= LIMITS.lower) and np.all(positions <= LIMITS.upper)
    travel = np.abs(np.diff(np.vstack([measured, positions]), axis=0))[:, :6]
    assert np.all(travel <= LIMITS.velocity[:6] * DT_S + 1e-12)
    outside = np.count_nonzero((raw[:, 6] < 0.0) | (raw[:, 6] > 1.0))
    assert converted.report.clamped_values >= outside
    assert converted.report.corrected == bool(converted.report.clamped_values
                                              or converted.report.unreachable_steps)


def test_safety_step_bound_caps_every_joint_change_per_row() -> None:
    config = EULER.config
    capped = ActionSpaceConverter(config, urdf_path=URDF, max_step_rad=0.02)
    raw = np.tile([0.0, 0.05, -0.05, 0.0, 0.0, 0.3, 1.0], (4, 1))

    converted = capped.convert(raw, np.append(HOME, OPEN), dt_s=DT_S)

    travel = np.abs(np.diff(np.vstack([HOME, converted.positions[:, :6]]), axis=0))
    assert np.max(travel) == pytest.approx(0.02, abs=1e-12)
    assert converted.report.unreachable_steps == 4
    assert converted.report.clamped_values >= 4


def test_unreachable_target_is_approached_at_bounded_speed_and_reported() -> None:
    converter = converter_for({'type': 'ee_pose', 'frame': 'ee_link',
                               'max_linear_speed_m_s': 0.3})
    far = Pose(np.array([1.5, 0.0, 0.13]), KINEMATICS.frame_pose(HOME).rotation)
    raw = np.tile(np.append(_absolute(far, RotationRepresentation.EULER), 1.0), (12, 1))

    converted = converter.convert(raw, np.append(HOME, OPEN), dt_s=DT_S)

    x_m = [KINEMATICS.frame_pose(row[:6]).position_m[0] for row in converted.positions]
    steps_m = np.diff([KINEMATICS.frame_pose(HOME).position_m[0], *x_m])
    assert np.all(steps_m > 0.0) and np.all(steps_m <= 0.03 + 1e-6)
    assert x_m[-1] < 0.75  # the arm reaches about 0.7 m at this height
    report = converted.report
    assert report.unreachable_steps >= 1
    assert report.clamped_values >= 12  # every row's 1.2 m jump was cut to 3 cm
    assert report.max_position_error_m > 0.7
    assert 'end-effector steps unreachable' in report.summary()


def test_singular_arm_moves_boundedly_and_reports_the_singularity() -> None:
    stretched = np.zeros(6)
    upwards = np.array([0.0, 0.0, 0.02, 0.0, 0.0, 0.0, 1.0])

    converted = EULER.convert(np.tile(upwards, (3, 1)), np.append(stretched, OPEN), dt_s=DT_S)

    travel = np.abs(np.diff(np.vstack([stretched, converted.positions[:, :6]]), axis=0))
    assert np.all(travel <= LIMITS.velocity[:6] * DT_S + 1e-12)
    report = converted.report
    assert report.unreachable_steps == 3
    assert report.singular_steps == 3
    # Each row asks for 2 cm more than the previous row reached; none of it is possible.
    assert report.max_position_error_m == pytest.approx(0.02, abs=1e-6)


@pytest.mark.parametrize(('space', 'extra', 'expected'), [
    ('joint_position', {}, [[0.1, 0.2], [0.3, 0.4], [0.5, 0.6]]),
    ('joint_delta', {}, [[1.1, 1.2], [1.3, 1.4], [1.5, 1.6]]),
    ('joint_delta', {'delta_reference': 'previous_row'}, [[1.1, 1.2], [1.4, 1.6], [1.9, 2.2]]),
    ('joint_velocity', {}, [[1.01, 1.02], [1.04, 1.06], [1.09, 1.12]]),
], ids=['absolute', 'delta_from_observation', 'delta_chained', 'velocity'])
def test_joint_space_rows_give_the_expected_positions(space: str, extra: dict[str, Any],
                                                      expected: list[list[float]]) -> None:
    converter = converter_for({'type': space, 'joints': ['joint1', 'joint3'], **extra})
    raw = np.column_stack([[[0.1, 0.2], [0.3, 0.4], [0.5, 0.6]], np.zeros(3)])

    converted = converter.convert(raw, np.array([1.0, 1.0, 0.02]), dt_s=DT_S)

    assert converted.joint_names == ('joint1', 'joint3', 'gripper_joint')
    assert_allclose(converted.positions[:, :2], expected, atol=1e-12)
    assert converted.report.clamped_values == 0


@given(arrays(np.float64, 2, elements=st.floats(-3.0, 3.0)),
       st.integers(1, 20).flatmap(lambda rows: arrays(
           np.float64, (rows, 2), elements=st.floats(-2.0, 2.0))))
@settings(max_examples=100, deadline=None)
def test_velocities_integrate_at_the_time_step_and_stop_at_limits(
        start: NDArray[np.float64], velocities: NDArray[np.float64]) -> None:
    converter = converter_for({'type': 'joint_velocity', 'joints': ['joint1', 'joint2']})
    limits = LIMITS.subset(['joint1', 'joint2'])
    measured = np.clip(start, limits.lower, limits.upper)

    converted = converter.convert(np.column_stack([velocities, np.zeros(len(velocities))]),
                                  np.append(measured, 0.0), dt_s=0.05)

    expected, previous = [], measured
    for velocity in velocities:
        previous = np.clip(previous + velocity * 0.05, limits.lower, limits.upper)
        expected.append(previous)
    assert_allclose(converted.positions[:, :2], expected, atol=1e-12)
    unclipped = measured + np.cumsum(velocities * 0.05, axis=0)
    if np.all((unclipped >= limits.lower) & (unclipped <= limits.upper)):
        assert_allclose(converted.positions[:, :2], unclipped, atol=1e-12)
        assert converted.report.clamped_values == 0


def test_velocity_at_a_limit_stays_there_and_leaves_at_once() -> None:
    converter = converter_for({'type': 'joint_velocity', 'joints': ['joint1']})
    raw = np.array([[1.0, 0.0], [1.0, 0.0], [-1.0, 0.0]])

    converted = converter.convert(raw, np.array([2.85, 0.0]), dt_s=DT_S)

    assert_allclose(converted.positions[:, 0], [2.9, 2.9, 2.8])
    assert converted.report.clamped_values == 2


@pytest.mark.parametrize('group', [
    GripperGroup('gripper_controller', 'gripper_joint'),
    GripperGroup('gripper_controller', 'gripper_joint', normalised_closed=1.0,
                 normalised_open=-1.0),
    GripperGroup('gripper_controller', 'gripper_joint', closed_position=0.005,
                 open_position=0.03),
], ids=['zero_closed_one_open', 'libero_signs', 'narrower_stroke'])
@given(st.floats(0.0, 1.0))
@settings(max_examples=50, deadline=None)
def test_gripper_mapping_round_trips(group: GripperGroup, fraction: float) -> None:
    mapping = GripperMapping.from_group(group, LIMITS)
    position = mapping.closed_position + fraction * (mapping.open_position
                                                     - mapping.closed_position)

    normalised = mapping.to_normalised(np.array([position]))
    positions, clamped = mapping.to_positions(normalised)

    assert positions[0] == pytest.approx(position, abs=1e-15)
    assert clamped == 0
    assert mapping.to_positions(np.array([group.normalised_open]))[0][0] == \
        mapping.open_position


def test_gripper_commands_outside_the_range_are_clamped_and_counted() -> None:
    converter = converter_for({'type': 'joint_position'})
    raw = np.column_stack([np.tile(HOME, (3, 1)), [-0.5, 0.5, 7.0]])

    converted = converter.convert(raw, np.append(HOME, 0.0), dt_s=DT_S)

    assert_allclose(converted.positions[:, 6], [0.0, 0.02, 0.04])
    assert converted.report.clamped_values == 2


@pytest.mark.parametrize(('raw', 'measured', 'error', 'match'), [
    (np.zeros((2, 6)), np.append(HOME, 0.0), PolicyOutputError, r'shape \(2, 6\), expected'),
    (np.zeros((0, 7)), np.append(HOME, 0.0), PolicyOutputError, r'expected \(T >= 1, 7\)'),
    (np.full((1, 7), np.nan), np.append(HOME, 0.0), PolicyOutputError, 'NaN or Inf'),
    (np.zeros((1, 7)), HOME, InputError, 'measured joints'),
], ids=['narrow', 'empty', 'nan', 'short_measurement'])
def test_unusable_chunks_are_refused(raw: NDArray[np.float64], measured: NDArray[np.float64],
                                     error: type[Exception], match: str) -> None:
    with pytest.raises(error, match=match):
        EULER.convert(raw, measured, dt_s=DT_S)


@pytest.mark.parametrize(('arm', 'gripper', 'match'), [
    ({'type': 'ee_delta', 'frame': 'ee_link', 'ik': 'moveit'}, None,
     r'ik: moveit needs a MoveIt IK solver'),
    ({'type': 'ee_delta', 'frame': 'ee_link', 'reference_frame': 'camera'}, None,
     r"frame 'camera' is not in the URDF"),
    ({'type': 'joint_position'}, {'type': 'gripper', 'open_position': 0.06},
     r'open_position: 0.06 is outside the URDF limits \[0.0, 0.04\]'),
], ids=['moveit_without_solver', 'unknown_reference_frame', 'gripper_beyond_limit'])
def test_declarations_the_robot_cannot_honour_are_config_errors(
        arm: dict[str, Any], gripper: dict[str, Any] | None, match: str) -> None:
    with pytest.raises(ConfigError, match=match):
        converter_for(arm, gripper)


def test_position_only_rows_leave_the_rotation_to_the_rest_pose_pull() -> None:
    rest = [0.0, 0.4, 1.7, 0.6, 1.04, -0.6]
    free = converter_for({'type': 'ee_delta', 'frame': 'ee_link', 'rotation': 'none'})
    pulled = converter_for({'type': 'ee_delta', 'frame': 'ee_link', 'rotation': 'none',
                            'rest_positions': rest})
    raw = np.tile([0.01, 0.0, -0.01, 1.0], (5, 1))
    measured = np.append(HOME, OPEN)

    chunks = [converter.convert(raw, measured, dt_s=DT_S) for converter in (free, pulled)]

    start_m = KINEMATICS.frame_pose(HOME).position_m
    for chunk in chunks:
        end_m = KINEMATICS.frame_pose(chunk.positions[-1, :6]).position_m
        assert_allclose(end_m, start_m + [0.05, 0.0, -0.05], atol=1e-6)
        assert chunk.report.unreachable_steps == 0
    distances = [np.linalg.norm(chunk.positions[-1, :6] - rest) for chunk in chunks]
    assert distances[1] < distances[0] - 0.3


def test_config_width_and_joint_order_follow_the_declaration() -> None:
    config: ActionSpaceConfig = EULER.config
    assert config.width == 7
    assert EULER.joint_names == (*ARM, 'gripper_joint')
