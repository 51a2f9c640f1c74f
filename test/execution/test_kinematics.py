# SPDX-License-Identifier: Apache-2.0
# Copyright 2026 The vla_ros authors
"""Pinocchio kinematics of the tabletop arm: FK, Jacobian, and a bounded, limit-true IK."""

from __future__ import annotations

from pathlib import Path

from hypothesis import given, settings
from hypothesis import strategies as st
from hypothesis.extra.numpy import arrays
import mujoco
import numpy as np
from numpy.testing import assert_allclose
from numpy.typing import NDArray
import pytest

from vla_ros.core.errors import ConfigError, InputError
from vla_ros.core.rotations import axis_angle_to_matrix, matrix_to_axis_angle, rotation_angle
from vla_ros.execution.kinematics import ArmKinematics, Pose

ROOT = Path(__file__).resolve().parents[2]
URDF = ROOT / 'urdf' / 'tabletop_arm.urdf'
SCENE = ROOT / 'urdf' / 'tabletop_scene.xml'
ARM = ('joint1', 'joint2', 'joint3', 'joint4', 'joint5', 'joint6')
HOME = np.array([0.0, 0.4, 1.7, 0.0, 1.04, 0.0])
#: Straight up: shoulder, elbow and wrist pitch at zero, the arm fully stretched.
STRETCHED = np.zeros(6)

KINEMATICS = ArmKinematics(URDF, ARM, 'ee_link')
near_home = arrays(np.float64, 6, elements=st.floats(-0.6, 0.6)).map(lambda d: HOME + d)
anywhere = arrays(np.float64, 6, elements=st.floats(0.0, 1.0)).map(
    lambda u: KINEMATICS.lower + u * (KINEMATICS.upper - KINEMATICS.lower))


def mujoco_site_pose(joints: NDArray[np.float64]) -> tuple[NDArray[np.float64],
                                                           NDArray[np.float64]]:
    model = mujoco.MjModel.from_xml_path(str(SCENE))
    data = mujoco.MjData(model)
    for name, value in zip(ARM, joints):
        data.qpos[model.joint(name).qposadr[0]] = value
    mujoco.mj_kinematics(model, data)
    site = model.site('ee_site').id
    return data.site_xpos[site].copy(), data.site_xmat[site].reshape(3, 3).copy()


@pytest.mark.parametrize('joints', [HOME, STRETCHED, np.array([0.5, -0.3, 1.2, 0.7, -0.9, 2.0])],
                         ids=['home', 'stretched', 'twisted'])
def test_fk_of_ee_link_is_the_mujoco_scenes_ee_site(joints: NDArray[np.float64]) -> None:
    position_m, rotation = mujoco_site_pose(joints)

    pose = KINEMATICS.frame_pose(joints)

    assert_allclose(pose.position_m, position_m, atol=1e-9)
    assert_allclose(pose.rotation, rotation, atol=1e-9)


def test_home_pose_points_down_13cm_above_the_table_32cm_ahead() -> None:
    pose = KINEMATICS.frame_pose(HOME)

    assert_allclose(pose.position_m, [0.316, 0.0, 0.132], atol=1e-3)
    assert_allclose(pose.rotation @ [0.0, 0.0, 1.0], [0.0, 0.0, -1.0], atol=3e-3)
    assert_allclose(KINEMATICS.frame_pose(HOME, 'base_link').position_m, np.zeros(3))


@given(anywhere)
@settings(max_examples=30, deadline=None)
def test_jacobian_is_the_derivative_of_the_frame_pose(joints: NDArray[np.float64]) -> None:
    jacobian = KINEMATICS.jacobian(joints)
    pose, step = KINEMATICS.frame_pose(joints), 1e-6

    for column in range(6):
        moved = KINEMATICS.frame_pose(joints + step * np.eye(6)[column])
        linear = (moved.position_m - pose.position_m) / step
        angular = matrix_to_axis_angle(moved.rotation @ pose.rotation.T) / step
        assert_allclose(jacobian[:, column], np.concatenate([linear, angular]), atol=1e-5)


@given(near_home, arrays(np.float64, 6, elements=st.floats(-0.15, 0.15)))
@settings(max_examples=60, deadline=None)
def test_ik_reproduces_reachable_poses(goal: NDArray[np.float64],
                                       offset: NDArray[np.float64]) -> None:
    target = KINEMATICS.frame_pose(goal)

    result = KINEMATICS.solve(target, goal + offset)

    reached = KINEMATICS.frame_pose(result.joint_positions)
    assert result.reached
    assert np.linalg.norm(reached.position_m - target.position_m) < 1e-6
    assert rotation_angle(reached.rotation @ target.rotation.T) < 1e-6
    assert result.position_error_m < 1e-6


@given(anywhere, arrays(np.float64, 3, elements=st.floats(-1.5, 1.5)),
       arrays(np.float64, 3, elements=st.floats(-3.0, 3.0)),
       st.floats(0.01, 0.5))
@settings(max_examples=60, deadline=None)
def test_ik_never_leaves_the_limits_or_the_step_bound(
        start: NDArray[np.float64], position_m: NDArray[np.float64],
        rotation_vector: NDArray[np.float64], max_step_rad: float) -> None:
    target = Pose(position_m, axis_angle_to_matrix(rotation_vector))

    result = KINEMATICS.solve(target, start, max_step_rad=np.full(6, max_step_rad))

    joints = result.joint_positions
    assert np.all(joints >= KINEMATICS.lower) and np.all(joints <= KINEMATICS.upper)
    assert np.max(np.abs(joints - start)) <= max_step_rad + 1e-12
    achieved = KINEMATICS.frame_pose(joints)
    assert result.position_error_m == pytest.approx(
        np.linalg.norm(achieved.position_m - position_m), abs=1e-12)
    assert result.reached == (result.position_error_m <= 1e-3
                              and result.rotation_error_rad <= 1e-2)


def test_unreachable_target_at_a_singularity_moves_boundedly_and_says_so() -> None:
    start_pose = KINEMATICS.frame_pose(STRETCHED)
    above = Pose(start_pose.position_m + [0.0, 0.0, 0.2], start_pose.rotation)

    result = KINEMATICS.solve(above, STRETCHED, max_step_rad=np.full(6, 0.1))

    assert not result.reached
    assert result.min_singular_value < 1e-6
    assert result.position_error_m == pytest.approx(0.2, abs=1e-3)
    assert np.max(np.abs(result.joint_positions - STRETCHED)) <= 0.1


def test_target_past_a_joint_limit_clamps_that_joint_and_reports_it() -> None:
    start = HOME.copy()
    start[0] = 2.85
    beyond = HOME.copy()
    beyond[0] = 3.1  # joint1's limit is 2.9: this pose is beyond it (and the others are not)
    target = Pose(KINEMATICS.frame_pose(beyond).position_m, KINEMATICS.frame_pose(beyond).rotation)

    result = KINEMATICS.solve(target, start)

    assert result.joint_positions[0] == 2.9
    assert result.clamped_joints >= 1
    assert not result.reached


def test_null_space_pull_moves_a_redundant_task_towards_the_rest_pose() -> None:
    rest = HOME + np.array([0.0, 0.0, 0.0, 0.8, 0.0, -0.8])
    target = Pose(KINEMATICS.frame_pose(HOME).position_m + [0.02, 0.03, -0.02], np.eye(3))

    free = KINEMATICS.solve(target, HOME, position_only=True)
    pulled = KINEMATICS.solve(target, HOME, position_only=True, rest_positions=rest)

    for result in (free, pulled):
        assert result.reached and result.rotation_error_rad == 0.0
        assert result.position_error_m < 1e-6
    assert np.linalg.norm(pulled.joint_positions - rest) < \
        np.linalg.norm(free.joint_positions - rest) - 0.5


@pytest.mark.parametrize(('joints', 'frame', 'match'), [
    (('joint1', 'wrist'), 'ee_link', r"joints \['wrist'\] are not in URDF"),
    (ARM, 'tool0', r"frame 'tool0' is not in the URDF; it has \["),
], ids=['unknown_joint', 'unknown_frame'])
def test_bad_chain_is_a_config_error(joints: tuple[str, ...], frame: str, match: str) -> None:
    with pytest.raises(ConfigError, match=match):
        ArmKinematics(URDF, joints, frame)


def test_missing_urdf_and_bad_joints_are_reported(tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match='does not exist'):
        ArmKinematics(tmp_path / 'arm.urdf', ARM, 'ee_link')
    with pytest.raises(InputError, match='expected 6 finite values'):
        KINEMATICS.frame_pose(np.array([0.0, np.nan, 0.0, 0.0, 0.0, 0.0]))
