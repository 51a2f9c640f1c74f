# SPDX-License-Identifier: Apache-2.0
# Copyright 2026 The vla_ros authors
"""The URDF and the MuJoCo scene describe one robot: joints, limits, kinematics, inertia, control.

MuJoCo reads URDF, so both files are compiled by it and compared; the ros2_control block is read
with the standard library's XML parser.
"""

from __future__ import annotations

from pathlib import Path
from xml.etree import ElementTree

import mujoco
import numpy as np
from numpy.testing import assert_allclose
from numpy.typing import NDArray
import pytest

URDF_DIR = Path(__file__).resolve().parents[2] / 'urdf'
URDF_PATH = URDF_DIR / 'tabletop_arm.urdf'
SCENE_PATH = URDF_DIR / 'tabletop_scene.xml'
COMMANDED = ('joint1', 'joint2', 'joint3', 'joint4', 'joint5', 'joint6', 'gripper_joint')
ROBOT_JOINTS = (*COMMANDED, 'gripper_joint_mirror')
LINKS = ('link1', 'link2', 'link3', 'link4', 'link5', 'link6', 'left_finger', 'right_finger')


@pytest.fixture(scope='module')
def urdf_model() -> mujoco.MjModel:
    spec = mujoco.MjSpec.from_file(str(URDF_PATH))
    spec.compiler.fusestatic = False  # keep base_link and ee_link as bodies
    return spec.compile()


@pytest.fixture(scope='module')
def scene_model() -> mujoco.MjModel:
    return mujoco.MjModel.from_xml_path(str(SCENE_PATH))


def robot_joints(model: mujoco.MjModel) -> list[str]:
    free = mujoco.mjtJoint.mjJNT_FREE
    return [model.joint(i).name for i in range(model.njnt) if model.jnt_type[i] != free]


def test_both_files_have_the_same_joints_limits_and_axes(
        urdf_model: mujoco.MjModel, scene_model: mujoco.MjModel) -> None:
    assert robot_joints(urdf_model) == list(ROBOT_JOINTS)
    assert robot_joints(scene_model) == list(ROBOT_JOINTS)
    for name in ROBOT_JOINTS:
        urdf_joint, scene_joint = urdf_model.joint(name), scene_model.joint(name)
        assert urdf_joint.type == scene_joint.type, name
        assert_allclose(urdf_joint.range, scene_joint.range, err_msg=name)
        assert_allclose(urdf_model.jnt_axis[urdf_joint.id], scene_model.jnt_axis[scene_joint.id],
                        err_msg=name)
        assert_allclose(urdf_model.jnt_actfrcrange[urdf_joint.id],
                        scene_model.jnt_actfrcrange[scene_joint.id], err_msg=name)


def inertia_tensor(model: mujoco.MjModel, body: str) -> NDArray[np.float64]:
    """(3, 3) inertia in the body frame, kg m^2; MuJoCo stores principal moments and axes."""
    flat_axes = np.zeros(9)
    mujoco.mju_quat2Mat(flat_axes, model.body(body).iquat)
    axes = flat_axes.reshape(3, 3)
    return axes @ np.diag(model.body(body).inertia) @ axes.T


def test_both_files_have_the_same_masses_and_inertias(
        urdf_model: mujoco.MjModel, scene_model: mujoco.MjModel) -> None:
    for name in LINKS:
        urdf_body, scene_body = urdf_model.body(name), scene_model.body(name)
        assert_allclose(urdf_body.mass, scene_body.mass, err_msg=name)
        assert_allclose(urdf_body.ipos, scene_body.ipos, atol=1e-9, err_msg=name)
        assert_allclose(inertia_tensor(urdf_model, name), inertia_tensor(scene_model, name),
                        atol=1e-10, err_msg=name)


def test_both_files_have_the_same_forward_kinematics(
        urdf_model: mujoco.MjModel, scene_model: mujoco.MjModel) -> None:
    rng = np.random.default_rng(0)
    urdf_data, scene_data = mujoco.MjData(urdf_model), mujoco.MjData(scene_model)
    for _ in range(20):
        for name in ROBOT_JOINTS:
            low, high = scene_model.joint(name).range
            value = rng.uniform(low, high)
            urdf_data.joint(name).qpos = value
            scene_data.joint(name).qpos = value
        mujoco.mj_kinematics(urdf_model, urdf_data)
        mujoco.mj_kinematics(scene_model, scene_data)
        for name in ('base_link', *LINKS):
            assert_allclose(urdf_data.body(name).xpos, scene_data.body(name).xpos, atol=1e-9)
            assert_allclose(urdf_data.body(name).xmat, scene_data.body(name).xmat, atol=1e-9)
        assert_allclose(urdf_data.body('ee_link').xpos, scene_data.site('ee_site').xpos,
                        atol=1e-9)


def test_mirror_finger_follows_the_gripper_joint_in_both_files(
        urdf_model: mujoco.MjModel, scene_model: mujoco.MjModel) -> None:
    for model in (urdf_model, scene_model):
        assert model.neq == 1
        assert model.eq_type[0] == mujoco.mjtEq.mjEQ_JOINT
        assert model.joint(model.eq_obj1id[0]).name == 'gripper_joint_mirror'
        assert model.joint(model.eq_obj2id[0]).name == 'gripper_joint'
        assert_allclose(model.eq_data[0, :5], [0.0, 1.0, 0.0, 0.0, 0.0])


def test_scene_has_one_position_servo_per_commanded_joint(scene_model: mujoco.MjModel) -> None:
    names = [scene_model.actuator(i).name for i in range(scene_model.nu)]
    assert names == list(COMMANDED)
    for name in COMMANDED:
        actuator = scene_model.actuator(name)
        assert scene_model.joint(actuator.trnid[0]).name == name
        assert_allclose(actuator.ctrlrange, scene_model.joint(name).range)
        assert actuator.gainprm[0] > 0 and actuator.biasprm[1] == -actuator.gainprm[0]


def test_ros2_control_block_matches_the_limits_and_the_home_pose(
        scene_model: mujoco.MjModel) -> None:
    robot = ElementTree.parse(URDF_PATH).getroot()
    (system,) = robot.findall('ros2_control')
    assert (system.get('name'), system.get('type')) == ('tabletop_arm', 'system')
    assert system.findtext('hardware/plugin') == 'mock_components/GenericSystem'
    assert tuple(joint.get('name') for joint in system.findall('joint')) == COMMANDED
    home = scene_model.key('home')
    for joint in system.findall('joint'):
        name = joint.get('name')
        limit = robot.find(f"joint[@name='{name}']/limit")
        assert limit is not None and all(limit.get(key) for key in ('velocity', 'effort'))
        command = joint.find("command_interface[@name='position']")
        assert command is not None
        assert float(command.findtext("param[@name='min']", '')) == float(limit.get('lower', ''))
        assert float(command.findtext("param[@name='max']", '')) == float(limit.get('upper', ''))
        states = [state.get('name') for state in joint.findall('state_interface')]
        assert states == ['position', 'velocity']
        initial = joint.findtext("state_interface[@name='position']/param[@name='initial_value']")
        assert float(initial or 'nan') == pytest.approx(
            home.qpos[scene_model.joint(name).qposadr[0]])


def test_home_pose_is_away_from_singularities(scene_model: mujoco.MjModel) -> None:
    data = mujoco.MjData(scene_model)
    mujoco.mj_resetDataKeyframe(scene_model, data, scene_model.key('home').id)
    mujoco.mj_forward(scene_model, data)
    jac_pos, jac_rot = np.zeros((3, scene_model.nv)), np.zeros((3, scene_model.nv))
    mujoco.mj_jacSite(scene_model, data, jac_pos, jac_rot, scene_model.site('ee_site').id)
    arm_dofs = [scene_model.joint(name).dofadr[0] for name in COMMANDED[:6]]
    singular_values = np.linalg.svd(np.vstack([jac_pos, jac_rot])[:, arm_dofs], compute_uv=False)
    assert singular_values.min() > 0.05
    assert data.ncon == 12  # only the three cubes touch the table (four contacts each)
