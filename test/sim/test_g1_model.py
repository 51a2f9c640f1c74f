# SPDX-License-Identifier: Apache-2.0
# Copyright 2026 The vla_ros authors
"""The Unitree G1 humanoid in MujocoSim: loading from config/g1.yaml, bad names, held legs."""

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
G1_CONFIG = REPO_ROOT / 'config' / 'g1.yaml'
#: Pelvis height of the fixed base in the scene, m (tools/make_g1_model.py).
PELVIS_HEIGHT_M = 0.793


def g1_with(edit: Callable[[dict[str, Any]], None]) -> VlaConfig:
    raw: dict[str, Any] = yaml.safe_load(G1_CONFIG.read_text())
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


@pytest.fixture(scope='module')
def g1() -> Iterator[MujocoSim]:
    config = load_config(G1_CONFIG)
    assert config.sim is not None
    with MujocoSim(config.sim) as sim:
        yield sim


def test_g1_has_43_joints_five_commanded_controllers_and_held_legs() -> None:
    config = load_config(G1_CONFIG)
    embodiment = config.embodiment
    assert len(embodiment.joints) == 43
    assert {name: len(joints) for name, joints in embodiment.controllers.items()} == {
        'waist_controller': 3, 'left_arm_controller': 7, 'right_arm_controller': 7,
        'left_hand_controller': 7, 'right_hand_controller': 7}
    assert list(embodiment.held_controllers) == ['legs_controller']
    legs = embodiment.held_controllers['legs_controller']
    assert len(legs) == 12 and all('hip' in j or 'knee' in j or 'ankle' in j for j in legs)
    commanded = {joint for joints in embodiment.controllers.values() for joint in joints}
    assert commanded.isdisjoint(legs) and commanded | set(legs) == set(embodiment.joints)
    assert [camera.name for camera in embodiment.cameras] == ['head', 'left_wrist',
                                                             'right_wrist']


#: (id, edit of config/g1.yaml, message); each breaks one name, found when the sim loads.
SCENE_NAME_ERRORS = [
    ('joint', _set('sim.joints.left_elbow_joint', {'joint': 'left_elbo_joint'}),
     r"^sim\.joints\.left_elbow_joint: no MJCF joint 'left_elbo_joint' in '.*g1_scene\.xml'$"),
    ('actuator', _set('sim.joints.left_knee_joint', {'actuator': 'left_knee'}),
     r"^sim\.joints\.left_knee_joint: no MJCF actuator 'left_knee' in '.*g1_scene\.xml'$"),
    ('actuator-of-another-joint',
     _set('sim.joints.waist_yaw_joint', {'actuator': 'waist_roll_joint'}),
     r"^sim\.joints\.waist_yaw_joint: actuator 'waist_roll_joint' does not drive joint "
     r"'waist_yaw_joint'$"),
    ('camera', _set('sim.cameras.head', {'camera': 'd435'}),
     r"^sim\.cameras\.head: no MJCF camera 'd435' in '.*g1_scene\.xml'$"),
    ('object', _set('sim.objects.green_cube.joint', 'green_box_joint'),
     r"^sim\.objects\.green_cube: no MJCF free joint 'green_box_joint' in "
     r"'.*g1_scene\.xml'$"),
    ('frame', _set('sim.frames.right_hand', 'right_hand_palm'),
     r"^sim\.frames\.right_hand: no MJCF site 'right_hand_palm' in '.*g1_scene\.xml'$"),
]


@pytest.mark.parametrize(('edit', 'message'), [case[1:] for case in SCENE_NAME_ERRORS],
                         ids=[case[0] for case in SCENE_NAME_ERRORS])
def test_a_wrong_scene_name_is_a_one_line_config_error_naming_it(
        edit: Callable[[dict[str, Any]], None], message: str) -> None:
    with pytest.raises(ConfigError, match=message) as caught:
        config = g1_with(edit)
        assert config.sim is not None
        MujocoSim(config.sim)
    assert '\n' not in str(caught.value)


def _also_command_a_leg(raw: dict[str, Any]) -> None:
    raw['embodiment']['controllers']['left_arm_controller'].append('left_knee_joint')


def _hold_the_waist(raw: dict[str, Any]) -> None:
    raw['embodiment']['held_controllers']['waist_controller'] = ['waist_yaw_joint']


#: (id, edit, message); each names something the embodiment lacks or claims twice.
CONFIG_ERRORS = [
    ('sim-joint', _set('sim.joints.left_elbow', {'joint': 'left_elbow_joint'}),
     r"^sim\.joints\.left_elbow: not in embodiment\.joints \['waist_yaw_joint', "),
    ('sim-camera', _set('sim.cameras.chest', {'camera': 'head'}),
     r"^sim\.cameras\.chest: not in embodiment\.cameras \['head', 'left_wrist', "),
    ('held-joint-unknown', _set('embodiment.held_controllers.legs_controller', ['left_toe']),
     r"^embodiment\.held_controllers\.legs_controller: unknown joints \['left_toe'\]"),
    ('held-joint-also-commanded', _also_command_a_leg,
     r"^embodiment\.controllers: joints \['left_knee_joint'\] claimed twice$"),
    ('held-and-commanded-controller', _hold_the_waist,
     r"^embodiment\.held_controllers: \['waist_controller'\] also in embodiment\.controllers"),
]


@pytest.mark.parametrize(('edit', 'message'), [case[1:] for case in CONFIG_ERRORS],
                         ids=[case[0] for case in CONFIG_ERRORS])
def test_a_bad_name_in_the_g1_config_is_a_one_line_config_error(
        edit: Callable[[dict[str, Any]], None], message: str) -> None:
    with pytest.raises(ConfigError, match=message) as caught:
        g1_with(edit)
    assert '\n' not in str(caught.value)


def test_every_camera_renders_its_own_view_of_the_table(g1: MujocoSim) -> None:
    g1.reset(0)
    images = {camera: g1.render(camera, 48, 40) for camera in g1.camera_names}
    assert set(images) == {'head', 'left_wrist', 'right_wrist'}
    for camera, image in images.items():
        assert image.shape == (40, 48, 3) and image.std() > 5.0, camera
    assert len({image.tobytes() for image in images.values()}) == 3
    # The head camera sees the red cube: some pixels are clearly red.
    head = images['head'].astype(int)
    assert np.any((head[..., 0] > 120) & (head[..., 1] < 60) & (head[..., 2] < 60))


def test_reset_loads_home_and_scatters_the_cubes_per_seed(g1: MujocoSim) -> None:
    g1.reset(3)
    first = g1.object_positions()
    home = g1.joint_positions()
    g1.set_position_targets(home + 0.1)
    g1.step(0.5)
    g1.reset(4)
    assert not np.allclose(g1.object_positions()['red_cube'], first['red_cube'])
    g1.reset(3)
    assert_allclose(g1.joint_positions(), home)
    for name, position in g1.object_positions().items():
        assert_allclose(position, first[name])
    centres = [position[:2] for position in first.values()]
    gaps = [np.linalg.norm(a - b) for i, a in enumerate(centres) for b in centres[i + 1:]]
    assert min(gaps) >= 0.08


def test_upper_body_joints_reach_commanded_positions_and_the_legs_hold(g1: MujocoSim) -> None:
    config = load_config(G1_CONFIG)
    legs = config.embodiment.held_controllers['legs_controller']
    is_leg = np.array([name in legs for name in g1.joint_names])
    g1.reset(0)
    home = g1.joint_positions()
    rng = np.random.default_rng(0)
    lower, upper = g1.joint_limits()
    offsets = rng.uniform(-0.3, 0.3, size=home.shape)
    targets = np.where(is_leg, home, np.clip(home + offsets, lower + 0.05, upper - 0.05))
    right_palm = g1.frame_position('right_hand')

    g1.set_position_targets(targets)
    g1.step(3.0)

    reached = g1.joint_positions()
    assert_allclose(reached[~is_leg], targets[~is_leg], atol=0.03)
    assert np.abs(reached[~is_leg] - home[~is_leg]).max() > 0.2  # they did move
    assert np.abs(reached[is_leg] - home[is_leg]).max() < 1e-3
    assert np.linalg.norm(g1.frame_position('right_hand') - right_palm) > 0.03


def test_the_palms_start_above_the_table_and_within_reach_of_the_cubes(g1: MujocoSim) -> None:
    g1.reset(0)
    for side, sign in (('left', 1.0), ('right', -1.0)):
        palm = g1.frame_position(f'{side}_hand')
        assert 0.77 < palm[2] < 0.9 and 0.2 < palm[0] < 0.4 and sign * palm[1] > 0.1, side


def test_g1_urdf_has_the_mjcf_kinematics_and_limits() -> None:
    config = load_config(G1_CONFIG)
    assert config.sim is not None
    urdf = pinocchio.buildModelFromUrdf(str(config.embodiment.urdf))
    urdf_data = urdf.createData()
    scene = mujoco.MjModel.from_xml_path(str(config.sim.mjcf))
    scene_data = mujoco.MjData(scene)
    for name in config.embodiment.joints:
        index = urdf.idx_qs[urdf.getJointId(name)]
        assert_allclose([urdf.lowerPositionLimit[index], urdf.upperPositionLimit[index]],
                        scene.joint(name).range, atol=1e-5, err_msg=name)  # MJCF: 6 digits
    links = ('left_hand_palm_link', 'right_hand_palm_link', 'left_ankle_roll_link',
             'head_link', 'right_hand_index_1_link')
    rng = np.random.default_rng(0)
    for _ in range(10):
        q = pinocchio.neutral(urdf)
        for name in config.embodiment.joints:
            value = rng.uniform(*scene.joint(name).range)
            q[urdf.idx_qs[urdf.getJointId(name)]] = value
            scene_data.qpos[scene.joint(name).qposadr[0]] = value
        mujoco.mj_kinematics(scene, scene_data)
        pinocchio.framesForwardKinematics(urdf, urdf_data, q)
        for link in links:
            urdf_position = urdf_data.oMf[urdf.getFrameId(link)].translation
            assert_allclose(urdf_position + [0.0, 0.0, PELVIS_HEIGHT_M],
                            scene_data.xpos[scene.body(link).id], atol=1e-4, err_msg=link)


def test_g1_urdf_ros2_control_block_has_every_joint_with_a_position_command() -> None:
    config = load_config(G1_CONFIG)
    block = ElementTree.parse(config.embodiment.urdf).getroot().find('ros2_control')
    assert block is not None
    interfaces = {joint.get('name'): (
        [interface.get('name') for interface in joint.findall('command_interface')],
        [interface.get('name') for interface in joint.findall('state_interface')])
        for joint in block.findall('joint')}
    assert set(interfaces) == set(config.embodiment.joints)
    assert all(value == (['position'], ['position', 'velocity'])
               for value in interfaces.values())
