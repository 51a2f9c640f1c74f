# SPDX-License-Identifier: Apache-2.0
# Copyright 2026 The vla_ros authors
"""MujocoSim for every embodiment with a sim section: loading, bad names, the ALOHA rig."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any
from xml.etree import ElementTree

import mujoco
import numpy as np
from numpy.testing import assert_allclose
import pinocchio
import pytest
import yaml

from vla_ros.core.config import load_config, parse_config, VlaConfig
from vla_ros.core.errors import ConfigError
from vla_ros.sim import MujocoSim

REPO_ROOT = Path(__file__).resolve().parents[2]
SIM_CONFIGS = sorted(path.name for path in (REPO_ROOT / 'config').glob('*.yaml')
                     if 'sim' in (yaml.safe_load(path.read_text()) or {}))
ALOHA_CONFIG = REPO_ROOT / 'config' / 'aloha.yaml'
ALOHA_HOME = np.array([0.0, -0.96, 1.16, 0.0, -0.3, 0.0, 0.02239] * 2)


def test_the_shipped_sim_configs_include_both_embodiments() -> None:
    assert {'tabletop_arm.yaml', 'aloha.yaml'} <= set(SIM_CONFIGS)


@pytest.mark.parametrize('name', SIM_CONFIGS)
def test_every_sim_config_loads_its_scene_with_all_joints_cameras_objects_and_frames(
        name: str) -> None:
    config = load_config(REPO_ROOT / 'config' / name)
    assert config.sim is not None
    with MujocoSim(config.sim) as sim:
        assert sim.joint_names == config.embodiment.joints
        assert sim.camera_names == tuple(camera.name for camera in config.embodiment.cameras)
        assert sim.object_names == tuple(spec.name for spec in config.sim.objects)
        assert sim.object_names and sim.frame_names
        lower, upper = sim.joint_limits()
        assert np.all(lower <= sim.joint_positions()) and np.all(sim.joint_positions() <= upper)
        for spec in config.sim.objects:
            x_m, y_m, z_m = sim.object_positions()[spec.name]
            assert spec.x_m[0] <= x_m <= spec.x_m[1] and spec.y_m[0] <= y_m <= spec.y_m[1]
            assert z_m == spec.z_m
        for camera in sim.camera_names:  # small images: software rendering is slow
            image = sim.render(camera, 32, 24)
            assert image.shape == (24, 32, 3) and image.std() > 5.0, camera


def aloha_raw() -> dict[str, Any]:
    raw: dict[str, Any] = yaml.safe_load(ALOHA_CONFIG.read_text())
    return raw


def aloha_with(edit: Callable[[dict[str, Any]], None]) -> VlaConfig:
    raw = aloha_raw()
    edit(raw)
    return parse_config(raw, root=REPO_ROOT)


def _set(path: str, value: object) -> Callable[[dict[str, Any]], None]:
    def edit(raw: dict[str, Any]) -> None:
        *parents, leaf = path.split('.')
        node = raw
        for key in parents:
            node = node.setdefault(key, {})
        node[leaf] = value
    return edit


#: (id, edit of config/aloha.yaml, message); each breaks one name, found when the sim loads.
SCENE_NAME_ERRORS = [
    ('joint', _set('sim.joints.left_elbow', {'joint': 'vx300s_left/elbo'}),
     r"^sim\.joints\.left_elbow: no MJCF joint 'vx300s_left/elbo' in '.*aloha_scene\.xml'$"),
    ('unbound-joint', _set('sim.joints.left_elbow', None),
     r'^sim\.joints\.left_elbow: None, expected a mapping with keys within'),
    ('actuator', _set('sim.joints.left_elbow.actuator', 'left_elbo'),
     r"^sim\.joints\.left_elbow: no MJCF actuator 'left_elbo' in '.*aloha_scene\.xml'$"),
    ('actuator-of-another-joint', _set('sim.joints.left_elbow.actuator', 'left_waist'),
     r"^sim\.joints\.left_elbow: actuator 'left_waist' does not drive joint "
     r"'vx300s_left/elbow'$"),
    ('camera', _set('sim.cameras.cam_low', {'camera': 'below'}),
     r"^sim\.cameras\.cam_low: no MJCF camera 'below' in '.*aloha_scene\.xml'$"),
    ('object', _set('sim.objects.red_cube.joint', 'red_box_joint'),
     r"^sim\.objects\.red_cube: no MJCF free joint 'red_box_joint' in '.*aloha_scene\.xml'$"),
    ('object-not-free', _set('sim.objects.red_cube.joint', 'vx300s_left/waist'),
     r"^sim\.objects\.red_cube: MJCF joint 'vx300s_left/waist' is not a free joint$"),
    ('frame', _set('sim.frames.left_end_effector', 'left_tip'),
     r"^sim\.frames\.left_end_effector: no MJCF site 'left_tip' in '.*aloha_scene\.xml'$"),
    ('keyframe', _set('sim.home_keyframe', 'ready'),
     r"^sim\.home_keyframe: no MJCF keyframe 'ready' in '.*aloha_scene\.xml'$"),
]


@pytest.mark.parametrize(('edit', 'message'), [case[1:] for case in SCENE_NAME_ERRORS],
                         ids=[case[0] for case in SCENE_NAME_ERRORS])
def test_a_wrong_scene_name_is_a_one_line_config_error_naming_it(
        edit: Callable[[dict[str, Any]], None], message: str) -> None:
    with pytest.raises(ConfigError, match=message) as caught:
        config = aloha_with(edit)
        assert config.sim is not None
        MujocoSim(config.sim)
    assert '\n' not in str(caught.value)


#: (id, edit, message); each names something the embodiment lacks, found by the loader.
CONFIG_NAME_ERRORS = [
    ('joint', _set('sim.joints.left_elbo', {'joint': 'vx300s_left/elbow'}),
     r"^sim\.joints\.left_elbo: not in embodiment\.joints \['left_waist', "),
    ('camera', _set('sim.cameras.cam_top', {'camera': 'top'}),
     r"^sim\.cameras\.cam_top: not in embodiment\.cameras \['cam_high', 'cam_low', "),
    ('object-without-joint', _set('sim.objects.red_cube', {'x_m': [0, 1], 'y_m': [0, 1]}),
     r'^sim\.objects\.red_cube: .* expected joint, x_m, y_m, z_m'),
    ('object-range', _set('sim.objects.red_cube.x_m', [0.2, 0.0]),
     r'^sim\.objects\.red_cube\.x_m: \(0\.2, 0\.0\), expected \[low, high\]'),
    ('unknown-key', _set('sim.robot', 'aloha'), r"^sim: unknown keys \['robot'\]"),
]


@pytest.mark.parametrize(('edit', 'message'), [case[1:] for case in CONFIG_NAME_ERRORS],
                         ids=[case[0] for case in CONFIG_NAME_ERRORS])
def test_a_sim_name_the_embodiment_lacks_is_a_one_line_config_error(
        edit: Callable[[dict[str, Any]], None], message: str) -> None:
    with pytest.raises(ConfigError, match=message) as caught:
        aloha_with(edit)
    assert '\n' not in str(caught.value)


def test_an_embodiment_joint_without_a_binding_must_exist_under_its_own_name() -> None:
    def unbind(raw: dict[str, Any]) -> None:
        del raw['sim']['joints']['right_gripper']
    config = aloha_with(unbind)
    assert config.sim is not None
    with pytest.raises(ConfigError, match=r"^sim\.joints\.right_gripper: no MJCF joint "
                                          r"'right_gripper' in "):
        MujocoSim(config.sim)


@pytest.fixture(scope='module')
def aloha() -> Iterator[MujocoSim]:
    config = load_config(ALOHA_CONFIG)
    assert config.sim is not None
    with MujocoSim(config.sim) as sim:
        yield sim


def test_aloha_has_two_arms_four_controllers_and_openpi_cameras() -> None:
    config = load_config(ALOHA_CONFIG)
    assert len(config.embodiment.joints) == 14
    assert {name: len(joints) for name, joints in config.embodiment.controllers.items()} == {
        'left_arm_controller': 6, 'right_arm_controller': 6, 'left_gripper_controller': 1,
        'right_gripper_controller': 1}
    assert [camera.name for camera in config.embodiment.cameras] == [
        'cam_high', 'cam_low', 'cam_left_wrist', 'cam_right_wrist']


def test_aloha_resets_home_and_scatters_the_cube_per_seed(aloha: MujocoSim) -> None:
    aloha.reset(5)
    first = aloha.object_positions()['red_cube']
    assert_allclose(aloha.joint_positions(), ALOHA_HOME)
    aloha.step(0.3)
    aloha.reset(6)
    assert not np.allclose(aloha.object_positions()['red_cube'], first)
    aloha.reset(5)
    assert_allclose(aloha.object_positions()['red_cube'], first)
    assert aloha.time_s == 0.0


def test_aloha_joints_track_targets(aloha: MujocoSim) -> None:
    aloha.reset(0)
    targets = ALOHA_HOME + np.array([0.3, 0.2, -0.2, 0.3, 0.3, 0.5, 0.025,
                                     -0.3, 0.1, 0.2, -0.3, -0.2, -0.5, 0.03])
    aloha.set_position_targets(targets)
    aloha.step(3.0)
    assert_allclose(aloha.joint_positions(), targets, atol=0.02)
    assert aloha.frame_position('left_end_effector')[0] < 0.0 < \
        aloha.frame_position('right_end_effector')[0]


def test_aloha_gripper_actuator_opens_both_fingers_mirrored() -> None:
    model = mujoco.MjModel.from_xml_path(str(REPO_ROOT / 'urdf' / 'aloha' / 'aloha_scene.xml'))
    data = mujoco.MjData(model)
    mujoco.mj_resetDataKeyframe(model, data, model.key('home').id)
    data.actuator('left_gripper').ctrl = 0.05
    data.actuator('right_gripper').ctrl = 0.03
    mujoco.mj_step(model, data, nstep=1000)
    for side, opening in (('left', 0.05), ('right', 0.03)):
        finger = data.joint(f'vx300s_{side}/left_finger').qpos[0]
        mirror = data.joint(f'vx300s_{side}/right_finger').qpos[0]
        assert finger == pytest.approx(opening, abs=2e-3), side
        assert mirror == pytest.approx(-finger, abs=1e-3), side


def urdf_frame_positions(model: Any, data: Any, positions: dict[str, float],
                         frames: tuple[str, ...]) -> dict[str, np.ndarray]:
    q = pinocchio.neutral(model)
    for name, value in positions.items():
        q[model.idx_qs[model.getJointId(name)]] = value
    pinocchio.framesForwardKinematics(model, data, q)
    return {frame: data.oMf[model.getFrameId(frame)].translation.copy() for frame in frames}


def test_aloha_urdf_has_the_mjcf_kinematics_and_limits() -> None:
    urdf = pinocchio.buildModelFromUrdf(str(REPO_ROOT / 'urdf' / 'aloha.urdf'))
    urdf_data = urdf.createData()
    config = load_config(ALOHA_CONFIG)
    assert config.sim is not None
    scene = mujoco.MjModel.from_xml_path(str(config.sim.mjcf))
    scene_data = mujoco.MjData(scene)
    bindings = {joint.name: joint.mjcf_joint for joint in config.sim.joints}
    for name, mjcf_joint in bindings.items():
        index = urdf.idx_qs[urdf.getJointId(name)]
        assert_allclose([urdf.lowerPositionLimit[index], urdf.upperPositionLimit[index]],
                        scene.joint(mjcf_joint).range, err_msg=name)
    rng = np.random.default_rng(0)
    for _ in range(20):
        positions = {name: rng.uniform(*scene.joint(mjcf).range)
                     for name, mjcf in bindings.items()}
        for name, mjcf_joint in bindings.items():
            scene_data.qpos[scene.joint(mjcf_joint).qposadr[0]] = positions[name]
        mujoco.mj_kinematics(scene, scene_data)
        urdf_positions = urdf_frame_positions(
            urdf, urdf_data, positions, ('left_ee_link', 'right_ee_link', 'left_left_finger_link',
                                         'right_left_finger_link'))
        for side in ('left', 'right'):
            assert_allclose(urdf_positions[f'{side}_ee_link'],
                            scene_data.site_xpos[scene.site(f'cali_{side}_site1').id], atol=1e-5)
            assert_allclose(urdf_positions[f'{side}_left_finger_link'],
                            scene_data.xpos[scene.body(f'vx300s_{side}/left_finger_link').id],
                            atol=1e-5)


def test_aloha_urdf_ros2_control_block_has_every_controller_joint() -> None:
    config = load_config(ALOHA_CONFIG)
    block = ElementTree.parse(config.embodiment.urdf).getroot().find('ros2_control')
    assert block is not None
    interfaces = {joint.get('name'): (
        [interface.get('name') for interface in joint.findall('command_interface')],
        [interface.get('name') for interface in joint.findall('state_interface')])
        for joint in block.findall('joint')}
    assert set(interfaces) == set(config.embodiment.joints)
    for joints in config.embodiment.controllers.values():
        for joint in joints:
            assert interfaces[joint] == (['position'], ['position', 'velocity']), joint
    assert all(joint.startswith(('left_', 'right_')) for joint in interfaces)
