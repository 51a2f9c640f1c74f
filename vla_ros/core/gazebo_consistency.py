# SPDX-License-Identifier: Apache-2.0
# Copyright 2026 The vla_ros authors
"""Check that an embodiment's Gazebo bring-up files agree, before Gazebo starts.

Gazebo cannot say why a controller never moves: a joint missing from the ``<ros2_control>``
block, a controller named differently in the YAML, a camera publishing on another topic or at
another size all end in a policy node that waits or holds. :func:`load_gazebo_bringup` reads the
embodiment YAML, the controllers YAML, the URDF and the world (found as
``vla_ros.core.gazebo_bringup`` describes) and raises one ``ConfigError`` naming every mismatch;
``launch/gazebo.launch.py`` calls it first, and the tests call it on every shipped config.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any
from xml.etree import ElementTree

from vla_ros.core.config import load_config, VlaConfig
from vla_ros.core.errors import ConfigError
from vla_ros.core.gazebo_bringup import (
    controllers_path,
    GZ_SYSTEM,
    MOCK_SYSTEM,
    ros2_control_plugin,
    sensors_of,
    world_path,
)

__all__ = ['bridge_arguments', 'GazeboBringup', 'gazebo_problems', 'JSB_TYPE', 'JTC_TYPE',
           'load_gazebo_bringup']

JTC_TYPE = 'joint_trajectory_controller/JointTrajectoryController'
JSB_TYPE = 'joint_state_broadcaster/JointStateBroadcaster'
BROADCASTER = 'joint_state_broadcaster'
#: image encoding of embodiment.cameras -> the Gazebo camera's <image><format>.
_PIXEL_FORMATS = {'rgb8': 'R8G8B8', 'bgr8': 'B8G8R8', 'mono8': 'L8'}
#: Systems a world must list: in Harmonic, a world with any <plugin> loads only those it lists.
WORLD_SYSTEMS = ('gz-sim-physics-system', 'gz-sim-user-commands-system',
                 'gz-sim-scene-broadcaster-system', 'gz-sim-sensors-system')


@dataclass(frozen=True, slots=True)
class GazeboBringup:
    """What the Gazebo launch file starts for one embodiment, once the files agree.

    Attributes:
        config: the embodiment YAML, loaded.
        config_path: its path.
        controllers_path: the controllers YAML (``<name>_controllers.yaml`` beside it).
        world: the world SDF.
        controllers: the controllers to spawn after ``joint_state_broadcaster``, in the
            controllers YAML's order (the embodiment's, and any that only hold joints).
    """

    config: VlaConfig
    config_path: Path
    controllers_path: Path
    world: Path
    controllers: tuple[str, ...]


def bridge_arguments(bringup: GazeboBringup) -> list[str]:
    """``ros_gz_bridge parameter_bridge`` arguments: /clock and each camera, Gazebo to ROS."""
    topics = ['/clock@rosgraph_msgs/msg/Clock[gz.msgs.Clock']
    topics += [f'/{camera.topic.lstrip("/")}@sensor_msgs/msg/Image[gz.msgs.Image'
               for camera in bringup.config.embodiment.cameras]
    return topics


def _parameters(raw: dict[str, Any], name: str) -> dict[str, Any]:
    entry = raw.get(name)
    params = entry.get('ros__parameters') if isinstance(entry, dict) else None
    return params if isinstance(params, dict) else {}


def _declared(raw: dict[str, Any]) -> dict[str, str]:
    """Controller name -> type, as the controller_manager section declares them, in order."""
    manager = _parameters(raw, 'controller_manager')
    return {name: str(entry.get('type')) for name, entry in manager.items()
            if isinstance(entry, dict) and 'type' in entry}


def _controllers_problems(config: VlaConfig, raw: dict[str, Any], where: str) -> list[str]:
    problems = []
    declared = _declared(raw)
    if declared.get(BROADCASTER) != JSB_TYPE:
        problems.append(f'{where}: no {BROADCASTER} of type {JSB_TYPE!r} in controller_manager')
    for name, joints in config.embodiment.controllers.items():
        if declared.get(name) != JTC_TYPE:
            problems.append(f'{where}: controller {name!r} of embodiment.controllers is '
                            f'declared as {declared.get(name)!r} in controller_manager, '
                            f'expected {JTC_TYPE!r}')
            continue
        listed = tuple(_parameters(raw, name).get('joints') or ())
        if listed != tuple(joints):
            problems.append(f'{where}: {name}.joints is {list(listed)!r}, '
                            f'embodiment.controllers.{name} is {list(joints)!r}')
    for name in (n for n, kind in declared.items() if kind == JTC_TYPE):
        params = _parameters(raw, name)
        if params.get('command_interfaces') != ['position']:
            problems.append(f'{where}: {name}.command_interfaces is '
                            f'{params.get("command_interfaces")!r}, expected [\'position\']')
        states = params.get('state_interfaces') or []
        if not {'position', 'velocity'} <= set(states):
            problems.append(f'{where}: {name}.state_interfaces is {states!r}, expected '
                            'position and velocity')
    return problems


def _interfaces(block: ElementTree.Element) -> dict[str, tuple[set[str], set[str]]]:
    """Joint -> (command interfaces, state interfaces) of a <ros2_control> block."""
    return {str(joint.get('name')): (
        {str(i.get('name')) for i in joint.findall('command_interface')},
        {str(i.get('name')) for i in joint.findall('state_interface')})
        for joint in block.findall('joint')}


def _joint_problems(robot: ElementTree.Element, block: ElementTree.Element,
                    controller_joints: dict[str, list[str]], where: str) -> list[str]:
    problems = []
    urdf_joints = {str(joint.get('name')): joint for joint in robot.findall('joint')}
    hardware = _interfaces(block)
    for name, (commands, _) in hardware.items():
        joint = urdf_joints.get(name)
        if joint is not None and joint.find('mimic') is not None and commands:
            problems.append(f'{where}: mimic joint {name!r} has command interfaces '
                            f'{sorted(commands)!r} in <ros2_control> (it must have none)')
    for controller, joints in controller_joints.items():
        for name in joints:
            if name not in urdf_joints:
                problems.append(f'{where}: joint {name!r} of {controller} is not a URDF joint')
            if name not in hardware:
                problems.append(f'{where}: joint {name!r} of {controller} has no <joint> in '
                                'the <ros2_control> block')
                continue
            commands, states = hardware[name]
            if 'position' not in commands:
                problems.append(f'{where}: joint {name!r} of {controller} has command '
                                f'interfaces {sorted(commands)!r}, expected position')
            if not {'position', 'velocity'} <= states:
                problems.append(f'{where}: joint {name!r} of {controller} has state '
                                f'interfaces {sorted(states)!r}, expected position and velocity')
    return problems


def _urdf_problems(config: VlaConfig, raw: dict[str, Any], controllers: Path) -> list[str]:
    where = str(config.embodiment.urdf)
    robot = ElementTree.parse(config.embodiment.urdf).getroot()
    blocks = robot.findall('ros2_control')
    if len(blocks) != 1:
        return [f'{where}: {len(blocks)} <ros2_control> blocks, expected one']
    plugin = (blocks[0].findtext('hardware/plugin') or '').strip()
    problems = []
    if plugin not in (MOCK_SYSTEM, GZ_SYSTEM):
        problems.append(f'{where}: <ros2_control> hardware plugin {plugin!r}, expected '
                        f'{MOCK_SYSTEM!r} or {GZ_SYSTEM!r}')
    gz_plugin = ros2_control_plugin(robot)
    named = [(p.text or '').strip() for p in (gz_plugin.findall('parameters')
                                              if gz_plugin is not None else [])]
    if gz_plugin is not None and not any(p.endswith(f'/{controllers.name}') for p in named):
        problems.append(f'{where}: the gz_ros2_control-system plugin loads {named!r}, '
                        f'expected .../{controllers.name}')
    controller_joints = {name: list(_parameters(raw, name).get('joints') or [])
                         for name, kind in _declared(raw).items() if kind == JTC_TYPE}
    return problems + _joint_problems(robot, blocks[0], controller_joints, where)


def _camera_problems(config: VlaConfig, world: Path) -> list[str]:
    sensors = {s.name: s for s in sensors_of(config.embodiment.urdf) + sensors_of(world)}
    problems = []
    for camera in config.embodiment.cameras:
        where = f'camera {camera.name!r} (embodiment.cameras)'
        sensor = sensors.get(camera.name)
        if camera.topic.endswith('/compressed'):
            problems.append(f'{where}: topic {camera.topic!r}; Gazebo publishes raw images')
        if sensor is None:
            problems.append(f'{where}: no <sensor name="{camera.name}"> in '
                            f'{config.embodiment.urdf} or {world}')
            continue
        pixel_format = _PIXEL_FORMATS.get(camera.encoding,
                                          f'(no Gazebo format for {camera.encoding})')
        expected = (camera.topic.lstrip('/'), camera.width, camera.height, pixel_format)
        found = (sensor.topic, sensor.width, sensor.height, sensor.pixel_format)
        if sensor.sensor_type != 'camera' or found != expected:
            problems.append(f'{where}: sensor in {sensor.source} has type '
                            f'{sensor.sensor_type!r}, (topic, width, height, format) {found!r}, '
                            f'expected camera, {expected!r}')
    return problems


def _world_problems(world: Path) -> list[str]:
    if not world.is_file():
        return [f'{world}: no such world file']
    listed = {str(p.get('filename')) for p in ElementTree.parse(world).getroot().iter('plugin')}
    missing = [system for system in WORLD_SYSTEMS if system not in listed]
    return [f'{world}: the world does not load the systems {missing!r}'] if missing else []


def gazebo_problems(config: VlaConfig, *, controllers: Path, world: Path) -> list[str]:
    """Every disagreement between the embodiment, controllers YAML, URDF and world, as text."""
    import yaml  # PyYAML, as in vla_ros.core.config

    if not controllers.is_file():
        return [f'{controllers}: no controllers YAML (convention: '
                f'<config dir>/{config.embodiment.name}_controllers.yaml)']
    raw = yaml.safe_load(controllers.read_text())
    if not isinstance(raw, dict):
        return [f'{controllers}: expected a YAML mapping']
    return (_controllers_problems(config, raw, str(controllers))
            + _urdf_problems(config, raw, controllers)
            + _camera_problems(config, world) + _world_problems(world))


def load_gazebo_bringup(config_path: Path | str, *,
                        default_world: Path | None = None) -> GazeboBringup:
    """Load an embodiment's Gazebo bring-up and check it.

    Args:
        config_path: the embodiment YAML.
        default_world: the world when ``urdf/<name>_world.sdf`` is not beside the config's
            directory; default: ``urdf/gazebo_world.sdf`` there.

    Raises:
        ConfigError: naming every mismatch, or the embodiment YAML's own error.
    """
    config_path = Path(config_path)
    config = load_config(config_path)
    controllers = controllers_path(config_path)
    world = world_path(config_path.parent.parent, config.embodiment.name, default=default_world)
    problems = gazebo_problems(config, controllers=controllers, world=world)
    if problems:
        raise ConfigError(f'{config_path}: the Gazebo bring-up files disagree: '
                          + '; '.join(problems))
    import yaml

    declared = _declared(yaml.safe_load(controllers.read_text()))
    return GazeboBringup(config=config, config_path=config_path, controllers_path=controllers,
                         world=world,
                         controllers=tuple(name for name in declared if name != BROADCASTER))
