# SPDX-License-Identifier: Apache-2.0
# Copyright 2026 The vla_ros authors
"""The Gazebo bring-up of every embodiment is consistent, and the launch file finds its files.

Gazebo, launch and ros_gz are not installed here, so this checks what can be checked without
them (docs/gazebo.md): for every config/*.yaml with a controllers YAML by the convention
(``<embodiment.name>_controllers.yaml`` beside it), the embodiment YAML, the controllers YAML,
the URDF's ``<ros2_control>`` block and camera sensors and the world agree; the URDF and the
Gazebo description built from it parse with Pinocchio; the launch file compiles and every file
it reads exists in the colcon install. Broken copies make the checker fail naming the mismatch.
"""

from __future__ import annotations

import ast
from collections.abc import Callable
from pathlib import Path
import re
import shutil
from xml.etree import ElementTree

import pinocchio as pin
import pytest
import yaml

from vla_ros.core.config import load_config
from vla_ros.core.errors import ConfigError
from vla_ros.core.gazebo_bringup import (
    controllers_path,
    DEFAULT_WORLD,
    gazebo_description,
    GZ_SYSTEM,
    sensors_of,
)
from vla_ros.core.gazebo_consistency import (
    bridge_arguments,
    GazeboBringup,
    JTC_TYPE,
    load_gazebo_bringup,
)

REPO_ROOT = Path(__file__).resolve().parent.parent
SHARE = REPO_ROOT / 'install' / 'vla_ros' / 'share' / 'vla_ros'
LAUNCH_FILE = REPO_ROOT / 'launch' / 'gazebo.launch.py'
CONFIGS = sorted(path.name for path in (REPO_ROOT / 'config').glob('*.yaml')
                 if not path.name.endswith('_controllers.yaml')
                 and controllers_path(path).is_file())


@pytest.fixture(params=CONFIGS, ids=CONFIGS)
def bringup(request: pytest.FixtureRequest) -> GazeboBringup:
    return load_gazebo_bringup(REPO_ROOT / 'config' / request.param)


def _ros2_control_interfaces(urdf: Path) -> dict[str, tuple[list[str], list[str]]]:
    (block,) = ElementTree.parse(urdf).getroot().findall('ros2_control')
    return {str(joint.get('name')): (
        [str(i.get('name')) for i in joint.findall('command_interface')],
        [str(i.get('name')) for i in joint.findall('state_interface')])
        for joint in block.findall('joint')}


def test_the_tabletop_arm_aloha_and_g1_have_gazebo_bringups() -> None:
    assert {'tabletop_arm.yaml', 'aloha.yaml', 'g1.yaml'} <= set(CONFIGS)


def test_controllers_yaml_has_one_position_jtc_per_embodiment_controller(
        bringup: GazeboBringup) -> None:
    raw = yaml.safe_load(bringup.controllers_path.read_text())
    embodiment = bringup.config.embodiment
    assert set(embodiment.controllers) <= set(bringup.controllers)
    for name, joints in embodiment.controllers.items():
        assert raw['controller_manager']['ros__parameters'][name]['type'] == JTC_TYPE
        params = raw[name]['ros__parameters']
        assert tuple(params['joints']) == joints, name
        assert params['command_interfaces'] == ['position'], name
        assert params['state_interfaces'] == ['position', 'velocity'], name


def test_every_controller_joint_has_position_interfaces_in_ros2_control(
        bringup: GazeboBringup) -> None:
    interfaces = _ros2_control_interfaces(bringup.config.embodiment.urdf)
    for name, joints in bringup.config.embodiment.controllers.items():
        for joint in joints:
            assert interfaces[joint] == (['position'], ['position', 'velocity']), f'{name}.{joint}'


def test_every_camera_has_a_gazebo_sensor_with_its_topic_and_size(
        bringup: GazeboBringup) -> None:
    sensors = {sensor.name: sensor for sensor in sensors_of(bringup.config.embodiment.urdf)
               + sensors_of(bringup.world)}
    for camera in bringup.config.embodiment.cameras:
        sensor = sensors[camera.name]
        assert (sensor.sensor_type, sensor.topic, sensor.width, sensor.height,
                sensor.pixel_format) == ('camera', camera.topic, camera.width, camera.height,
                                         'R8G8B8'), camera.name
    assert bridge_arguments(bringup) == [
        '/clock@rosgraph_msgs/msg/Clock[gz.msgs.Clock',
        *(f'/{camera.topic}@sensor_msgs/msg/Image[gz.msgs.Image'
          for camera in bringup.config.embodiment.cameras)]


def test_urdf_and_its_gazebo_description_parse_with_pinocchio(bringup: GazeboBringup) -> None:
    urdf = bringup.config.embodiment.urdf
    model = pin.buildModelFromUrdf(str(urdf))
    description = gazebo_description(urdf.read_text(), controllers=bringup.controllers_path,
                                      package_shares={'vla_ros': SHARE})
    gazebo_model = pin.buildModelFromXML(description)
    assert list(gazebo_model.names) == list(model.names)
    assert set(bringup.config.embodiment.joints) <= set(model.names)


def test_gazebo_description_runs_gz_hardware_with_the_installed_controllers(
        bringup: GazeboBringup) -> None:
    controllers = (SHARE / 'config' / bringup.controllers_path.name).absolute()
    robot = ElementTree.fromstring(gazebo_description(
        bringup.config.embodiment.urdf.read_text(), controllers=controllers,
        package_shares={'vla_ros': SHARE}))
    assert [p.text for p in robot.iterfind('ros2_control/hardware/plugin')] == [GZ_SYSTEM]
    (plugin,) = [p for p in robot.iterfind('gazebo/plugin')
                 if p.get('filename') == 'gz_ros2_control-system']
    assert [p.text for p in plugin.findall('parameters')] == [str(controllers)]
    assert controllers.is_file()
    meshes = [mesh.get('filename', '') for mesh in robot.iter('mesh')]
    assert all(uri.startswith(f'file://{SHARE}/') for uri in meshes), meshes
    assert all(Path(uri.removeprefix('file://')).is_file() for uri in meshes)
    joints = {str(j.get('name')): j for j in robot.findall('joint')}
    roots = {str(link.get('name')) for link in robot.findall('link')} - {
        str(j.find('child').get('link')) for j in joints.values()}  # type: ignore[union-attr]
    assert roots == {'world'}
    assert all(float(link.find('inertial/mass').get('value', '0')) > 0  # type: ignore[union-attr]
               for link in robot.findall('link') if link.get('name') != 'world')
    mimics = [name for name, joint in joints.items() if joint.find('mimic') is not None]
    listed = {name: (commands, states) for name, (commands, states) in _interfaces(robot).items()}
    for name in mimics:
        assert listed[name] == ([], ['position']), name


def _interfaces(robot: ElementTree.Element) -> dict[str, tuple[list[str], list[str]]]:
    (block,) = robot.findall('ros2_control')
    return {str(joint.get('name')): (
        [str(i.get('name')) for i in joint.findall('command_interface')],
        [str(i.get('name')) for i in joint.findall('state_interface')])
        for joint in block.findall('joint')}


@pytest.mark.parametrize('name', CONFIGS, ids=CONFIGS)
def test_every_file_the_launch_reads_is_installed(name: str) -> None:
    installed = load_gazebo_bringup(SHARE / 'config' / name,
                                    default_world=SHARE / 'urdf' / DEFAULT_WORLD)
    for path in (installed.config_path, installed.controllers_path, installed.world,
                 SHARE / 'launch' / LAUNCH_FILE.name, SHARE / 'urdf' / DEFAULT_WORLD,
                 installed.config.embodiment.urdf,
                 SHARE.parent.parent / 'lib' / 'vla_ros' / 'vla_policy_node'):
        assert path.is_file(), path


def test_launch_file_compiles_and_starts_the_gazebo_bringup_nodes() -> None:
    source = LAUNCH_FILE.read_text()
    tree = ast.parse(source)
    compile(source, str(LAUNCH_FILE), 'exec')
    functions = {node.name for node in tree.body if isinstance(node, ast.FunctionDef)}
    assert 'generate_launch_description' in functions
    strings = {node.value for node in ast.walk(tree)
               if isinstance(node, ast.Constant) and isinstance(node.value, str)}
    assert {'ros_gz_sim', 'gz_sim.launch.py', 'create', 'ros_gz_bridge', 'parameter_bridge',
            'robot_state_publisher', 'controller_manager', 'spawner', 'joint_state_broadcaster',
            'vla_policy_node', 'use_sim_time', 'robot_description'} <= strings
    assert re.search(r'OnProcessExit', source)


# --- broken copies: the checker names the mismatch -------------------------------------------


def _edit(path: Path, old: str, new: str) -> None:
    text = path.read_text()
    assert old in text, (path, old)
    path.write_text(text.replace(old, new, 1))


BREAKAGES: dict[str, tuple[Callable[[Path], None], str]] = {
    'controller joint renamed in controllers YAML': (
        lambda root: _edit(root / 'config' / 'tabletop_arm_controllers.yaml',
                           'joints: [joint1, joint2', 'joints: [joint1, joint_two'),
        r"arm_controller\.joints is \['joint1', 'joint_two'.*embodiment\.controllers\."
        r"arm_controller is \['joint1', 'joint2'"),
    'command interface missing in ros2_control': (
        lambda root: _edit(root / 'urdf' / 'tabletop_arm.urdf',
                           '<command_interface name="position">\n        '
                           '<param name="min">-2.6</param>',
                           '<command_interface name="effort">\n        '
                           '<param name="min">-2.6</param>'),
        r"joint 'joint3' of arm_controller has command interfaces \['effort'\], "
        r'expected position'),
    'controller missing from controllers YAML': (
        lambda root: _edit(root / 'config' / 'tabletop_arm.yaml',
                           'gripper_controller: [gripper_joint]',
                           'hand_controller: [gripper_joint]'),
        r"controller 'hand_controller' of embodiment.controllers is declared as None"),
    'camera sensor on another topic': (
        lambda root: _edit(root / 'urdf' / 'tabletop_arm.urdf',
                           '<topic>camera/wrist/image_raw</topic>',
                           '<topic>camera/hand/image_raw</topic>'),
        r"camera 'wrist' \(embodiment.cameras\).*'camera/hand/image_raw'"),
    'camera without a sensor': (
        lambda root: _edit(root / 'urdf' / 'tabletop_arm_world.sdf',
                           '<sensor name="front"', '<sensor name="overview"'),
        r"camera 'front' \(embodiment.cameras\): no <sensor name=\"front\">"),
    'world without the Sensors system': (
        lambda root: _edit(root / 'urdf' / 'tabletop_arm_world.sdf',
                           'filename="gz-sim-sensors-system"', 'filename="gz-sim-imu-system"'),
        r"does not load the systems \['gz-sim-sensors-system'\]"),
    'no controllers YAML by the convention': (
        lambda root: (root / 'config' / 'tabletop_arm_controllers.yaml').unlink(),
        r'no controllers YAML \(convention: <config dir>/tabletop_arm_controllers.yaml\)'),
}


@pytest.mark.parametrize('breakage', sorted(BREAKAGES), ids=sorted(BREAKAGES))
def test_a_broken_copy_fails_naming_the_mismatch(tmp_path: Path, breakage: str) -> None:
    for relative in ('config/tabletop_arm.yaml', 'config/tabletop_arm_controllers.yaml',
                     'urdf/tabletop_arm.urdf', 'urdf/tabletop_arm_world.sdf'):
        (tmp_path / relative).parent.mkdir(exist_ok=True)
        shutil.copyfile(REPO_ROOT / relative, tmp_path / relative)
    config = tmp_path / 'config' / 'tabletop_arm.yaml'
    assert load_gazebo_bringup(config).world == tmp_path / 'urdf' / 'tabletop_arm_world.sdf'
    assert load_config(config).embodiment.urdf == tmp_path / 'urdf' / 'tabletop_arm.urdf'
    break_it, message = BREAKAGES[breakage]

    break_it(tmp_path)

    with pytest.raises(ConfigError, match=message):
        load_gazebo_bringup(config)
