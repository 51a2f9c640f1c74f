# SPDX-License-Identifier: Apache-2.0
# Copyright 2026 The vla_ros authors
"""The launch files compile and the ros2_control controllers YAML agrees with the config.

launch_ros is not installed here, so the launch files are compiled and read, not run. The
controllers YAML is what ros2_control_node loads on a real robot: its trajectory controllers
and their joints must be exactly ``embodiment.controllers`` of config/tabletop_arm.yaml, or
the policy node would publish to controllers that do not exist.
"""

from __future__ import annotations

import ast
from pathlib import Path
import re
from typing import Any
from xml.etree import ElementTree

import pytest
import yaml

from vla_ros.core.config import load_config, VlaConfig

REPO_ROOT = Path(__file__).resolve().parent.parent
LAUNCH_FILES = ('sim.launch.py', 'robot.launch.py')
CONTROLLERS_YAML = REPO_ROOT / 'config' / 'tabletop_arm_controllers.yaml'
JTC_TYPE = 'joint_trajectory_controller/JointTrajectoryController'
JSB_TYPE = 'joint_state_broadcaster/JointStateBroadcaster'


@pytest.fixture(scope='module')
def config() -> VlaConfig:
    return load_config(REPO_ROOT / 'config' / 'tabletop_arm.yaml')


@pytest.fixture(scope='module')
def controllers_yaml() -> dict[str, Any]:
    return yaml.safe_load(CONTROLLERS_YAML.read_text())


def _trajectory_controllers(controllers_yaml: dict[str, Any]) -> dict[str, dict[str, Any]]:
    manager = controllers_yaml['controller_manager']['ros__parameters']
    return {name: controllers_yaml[name]['ros__parameters'] for name, entry in manager.items()
            if isinstance(entry, dict) and entry.get('type') == JTC_TYPE}


def _keyword_strings(tree: ast.AST, keyword: str) -> list[str]:
    return [node.value.value for node in ast.walk(tree)
            if isinstance(node, ast.keyword) and node.arg == keyword
            and isinstance(node.value, ast.Constant) and isinstance(node.value.value, str)]


@pytest.mark.parametrize('name', LAUNCH_FILES, ids=LAUNCH_FILES)
def test_launch_file_compiles_and_defines_generate_launch_description(name: str) -> None:
    path = REPO_ROOT / 'launch' / name
    source = path.read_text()
    compile(source, str(path), 'exec')
    functions = [node.name for node in ast.parse(source).body if isinstance(node, ast.FunctionDef)]
    assert 'generate_launch_description' in functions


@pytest.mark.parametrize(('name', 'executables'), [
    ('sim.launch.py', ['vla_mujoco_sim', 'vla_policy_node']),
    ('robot.launch.py', ['vla_policy_node']),
], ids=['sim', 'robot'])
def test_launch_file_starts_installed_executables_of_this_package(
        name: str, executables: list[str]) -> None:
    tree = ast.parse((REPO_ROOT / 'launch' / name).read_text())
    assert _keyword_strings(tree, 'executable') == executables
    assert set(_keyword_strings(tree, 'package')) == {'vla_ros'}
    cmake = (REPO_ROOT / 'CMakeLists.txt').read_text()
    installed = re.search(r'install\(PROGRAMS(.*?)DESTINATION lib/', cmake, re.DOTALL)
    assert installed is not None
    for executable in executables:
        assert (REPO_ROOT / 'bin' / executable).is_file()
        assert f'bin/{executable}' in installed.group(1)


def test_controllers_yaml_declares_the_broadcaster_and_one_jtc_per_config_controller(
        controllers_yaml: dict[str, Any], config: VlaConfig) -> None:
    manager = controllers_yaml['controller_manager']['ros__parameters']
    assert manager['update_rate'] == 100
    types = {name: entry['type'] for name, entry in manager.items() if isinstance(entry, dict)}
    assert types == {'joint_state_broadcaster': JSB_TYPE,
                     **{name: JTC_TYPE for name in config.embodiment.controllers}}
    assert set(controllers_yaml) == {'controller_manager', *config.embodiment.controllers}


def test_controllers_yaml_gives_each_controller_exactly_its_config_joints(
        controllers_yaml: dict[str, Any], config: VlaConfig) -> None:
    joints = {name: tuple(params['joints'])
              for name, params in _trajectory_controllers(controllers_yaml).items()}
    assert joints == dict(config.embodiment.controllers)


def test_controllers_yaml_sets_position_control_and_streaming_options(
        controllers_yaml: dict[str, Any]) -> None:
    for name, params in _trajectory_controllers(controllers_yaml).items():
        assert params['command_interfaces'] == ['position'], name
        assert params['state_interfaces'] == ['position', 'velocity'], name
        assert params['interpolate_from_desired_state'] is True, name
        assert params['allow_partial_joints_goal'] is False, name
        constraints = params['constraints']
        # JTC ignores cmd_timeout unless it exceeds goal_time.
        assert params['cmd_timeout'] > constraints['goal_time'] >= 0.0, name
        assert set(constraints) - {'stopped_velocity_tolerance', 'goal_time'} \
            == set(params['joints']), name
        for joint in params['joints']:
            assert set(constraints[joint]) == {'trajectory', 'goal'}, f'{name}.{joint}'


def test_urdf_ros2_control_block_gives_every_controller_joint_its_interfaces(
        controllers_yaml: dict[str, Any], config: VlaConfig) -> None:
    block = ElementTree.parse(config.embodiment.urdf).getroot().find('ros2_control')
    assert block is not None
    hardware = {joint.get('name'): (
        [interface.get('name') for interface in joint.findall('command_interface')],
        [interface.get('name') for interface in joint.findall('state_interface')])
        for joint in block.findall('joint')}
    for name, params in _trajectory_controllers(controllers_yaml).items():
        for joint in params['joints']:
            commands, states = hardware[joint]
            assert set(params['command_interfaces']) <= set(commands), f'{name}.{joint}'
            assert set(params['state_interfaces']) <= set(states), f'{name}.{joint}'
