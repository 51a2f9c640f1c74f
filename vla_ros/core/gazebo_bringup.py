# SPDX-License-Identifier: Apache-2.0
# Copyright 2026 The vla_ros authors
"""Which files a Gazebo bring-up of an embodiment reads, and the description Gazebo gets.

``launch/gazebo.launch.py config:=<embodiment yaml>`` runs any embodiment in Gazebo (Harmonic on
Jazzy, Ionic on Kilted) from files found by convention, next to the embodiment YAML:

- ``config/<embodiment.name>_controllers.yaml``: the ros2_control controllers (one
  ``joint_state_broadcaster``, one ``joint_trajectory_controller`` per embodiment controller,
  plus any controller that only holds joints, e.g. a humanoid's legs);
- ``embodiment.urdf``: the robot, whose ``<ros2_control>`` block names
  ``mock_components/GenericSystem`` (mock hardware, what ``robot.launch.py``'s recipe runs)
  and whose ``<gazebo>`` elements hold the robot-mounted camera sensors;
- ``urdf/<embodiment.name>_world.sdf``: the world (table, objects, scene cameras, the Sensors
  system), or ``urdf/gazebo_world.sdf`` (ground, light, systems) when there is none.

No xacro: :func:`gazebo_description` turns the mock-hardware URDF into the Gazebo one at launch
time (hardware plugin ``gz_ros2_control/GazeboSimSystem``, the ``gz_ros2_control-system``
plugin with the controllers YAML's absolute path, ``package://`` meshes as ``file://`` paths,
mimic joints state-only in ``<ros2_control>``, 1 g in massless links, the root link fixed to
the world), so one URDF serves mock hardware, a real robot's driver
(swap the plugin) and Gazebo. ``vla_ros.core.gazebo_consistency`` checks that the files agree.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
import re
from xml.etree import ElementTree

__all__ = ['CameraSensor', 'controllers_path', 'DEFAULT_WORLD', 'gazebo_description',
           'GZ_CONTROL_PLUGIN_FILE', 'GZ_CONTROL_PLUGIN_NAME', 'GZ_SYSTEM', 'MOCK_SYSTEM',
           'ros2_control_plugin', 'sensors_of', 'world_path']

MOCK_SYSTEM = 'mock_components/GenericSystem'
GZ_SYSTEM = 'gz_ros2_control/GazeboSimSystem'
GZ_CONTROL_PLUGIN_FILE = 'gz_ros2_control-system'
GZ_CONTROL_PLUGIN_NAME = 'gz_ros2_control::GazeboSimROS2ControlPlugin'
#: The world of an embodiment without its own ``urdf/<name>_world.sdf``.
DEFAULT_WORLD = 'gazebo_world.sdf'
_PACKAGE_URI = re.compile(r'package://([A-Za-z0-9_]+)/')


@dataclass(frozen=True, slots=True)
class CameraSensor:
    """One Gazebo camera sensor, as declared in a URDF ``<gazebo>`` element or a world SDF.

    Attributes:
        name: the sensor's name (an embodiment camera's name).
        sensor_type: ``camera`` for an RGB camera.
        topic: the Gazebo topic, without a leading slash ('' when unset).
        width: image width, pixels (0 when unset).
        height: image height, pixels (0 when unset).
        pixel_format: e.g. ``R8G8B8`` ('' when unset).
        source: the file that declares it.
    """

    name: str
    sensor_type: str
    topic: str
    width: int
    height: int
    pixel_format: str
    source: Path


def controllers_path(config_path: Path) -> Path:
    """The controllers YAML of the embodiment YAML at ``config_path``, by convention.

    ``<config dir>/<embodiment.name>_controllers.yaml``; the name comes from the file, so
    variants of one robot (``tabletop_arm_ee.yaml``) share the robot's controllers.
    """
    import yaml  # PyYAML, as in vla_ros.core.config

    raw = yaml.safe_load(config_path.read_text())
    name = raw['embodiment']['name']
    return config_path.parent / f'{name}_controllers.yaml'


def world_path(root: Path, embodiment_name: str, *, default: Path | None = None) -> Path:
    """``<root>/urdf/<name>_world.sdf`` if it exists, else ``default``.

    ``root`` is the directory above the embodiment YAML's; ``default`` defaults to
    ``<root>/urdf/gazebo_world.sdf`` (the launch file passes the installed one).
    """
    own = root / 'urdf' / f'{embodiment_name}_world.sdf'
    return own if own.is_file() else default or root / 'urdf' / DEFAULT_WORLD


def _text(element: ElementTree.Element | None, path: str) -> str:
    found = None if element is None else element.find(path)
    return '' if found is None or found.text is None else found.text.strip()


def _int(text: str) -> int:
    return int(text) if text.isdigit() else 0


def sensors_of(path: Path) -> list[CameraSensor]:
    """Every ``<sensor>`` of a URDF or SDF file, wherever it is nested."""
    sensors = []
    for sensor in ElementTree.parse(path).getroot().iter('sensor'):
        camera = sensor.find('camera')
        sensors.append(CameraSensor(
            name=sensor.get('name', ''), sensor_type=sensor.get('type', ''),
            topic=_text(sensor, 'topic').lstrip('/'),
            width=_int(_text(camera, 'image/width')), height=_int(_text(camera, 'image/height')),
            pixel_format=_text(camera, 'image/format'), source=path))
    return sensors


def ros2_control_plugin(robot: ElementTree.Element) -> ElementTree.Element | None:
    """The URDF's ``<gazebo><plugin filename="gz_ros2_control-system">`` element, if any."""
    for plugin in robot.iterfind('gazebo/plugin'):
        if plugin.get('filename') == GZ_CONTROL_PLUGIN_FILE:
            return plugin
    return None


def _anchor_to_world(robot: ElementTree.Element) -> None:
    """Fix the root link to Gazebo's world (a no-op when the root link is ``world``)."""
    children = set()
    for joint in robot.findall('joint'):
        child = joint.find('child')
        if child is not None:
            children.add(child.get('link'))
    roots = [link.get('name') for link in robot.findall('link')
             if link.get('name') not in children]
    if roots == ['world'] or len(roots) != 1:
        return
    ElementTree.SubElement(robot, 'link', name='world')
    joint = ElementTree.SubElement(robot, 'joint', name='world_to_root', type='fixed')
    ElementTree.SubElement(joint, 'parent', link='world')
    ElementTree.SubElement(joint, 'child', link=str(roots[0]))


def _add_mimic_joints(robot: ElementTree.Element) -> None:
    """List each URDF mimic joint of a commanded joint in <ros2_control>, state only.

    ros2_control (Jazzy and later) then moves it with the joint it mimics, in Gazebo as on mock
    hardware; unlisted, a mirrored finger would be a passive joint in Gazebo's physics.
    """
    for block in robot.findall('ros2_control'):
        listed = {joint.get('name') for joint in block.findall('joint')}
        for joint in robot.findall('joint'):
            mimic = joint.find('mimic')
            if mimic is None or joint.get('name') in listed or mimic.get('joint') not in listed:
                continue
            entry = ElementTree.SubElement(block, 'joint', name=str(joint.get('name')))
            ElementTree.SubElement(entry, 'state_interface', name='position')


def _add_negligible_inertia(robot: ElementTree.Element) -> None:
    """Give every link without ``<inertial>`` 1 g: Gazebo drops a massless link with its subtree.

    (URDF-to-SDF conversion leaves out a link without mass, and every joint and link below it,
    unless a fixed joint merges it into its parent; ALOHA's base links are such links.)
    """
    for link in robot.findall('link'):
        if link.get('name') == 'world' or link.find('inertial') is not None:
            continue
        inertial = ElementTree.SubElement(link, 'inertial')
        ElementTree.SubElement(inertial, 'mass', value='0.001')
        ElementTree.SubElement(inertial, 'inertia', ixx='1e-07', ixy='0', ixz='0', iyy='1e-07',
                               iyz='0', izz='1e-07')


def gazebo_description(urdf_text: str, *, controllers: Path,
                       package_shares: Mapping[str, Path]) -> str:
    """The URDF as Gazebo and gz_ros2_control need it (see the module docstring).

    Args:
        urdf_text: the robot's URDF, with a mock-hardware (or gz) ``<ros2_control>`` block.
        controllers: absolute path of the controllers YAML that gz_ros2_control loads.
        package_shares: package name -> share directory, for ``package://`` URIs.

    Returns:
        The URDF text for ``robot_state_publisher`` (and so for ``ros_gz_sim create``).
    """
    robot = ElementTree.fromstring(urdf_text)
    for plugin in robot.iterfind('ros2_control/hardware/plugin'):
        plugin.text = GZ_SYSTEM
    _add_mimic_joints(robot)
    plugin_element = ros2_control_plugin(robot)
    if plugin_element is None:
        gazebo = ElementTree.SubElement(robot, 'gazebo')
        plugin_element = ElementTree.SubElement(
            gazebo, 'plugin', filename=GZ_CONTROL_PLUGIN_FILE, name=GZ_CONTROL_PLUGIN_NAME)
    for old in plugin_element.findall('parameters'):
        plugin_element.remove(old)
    ElementTree.SubElement(plugin_element, 'parameters').text = str(controllers)
    for mesh in robot.iter('mesh'):
        uri = mesh.get('filename', '')
        match = _PACKAGE_URI.match(uri)
        if match and match.group(1) in package_shares:
            mesh.set('filename', f'file://{package_shares[match.group(1)]}/{uri[match.end():]}')
    _add_negligible_inertia(robot)
    _anchor_to_world(robot)
    return ElementTree.tostring(robot, encoding='unicode')
