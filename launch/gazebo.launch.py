# SPDX-License-Identifier: Apache-2.0
# Copyright 2026 The vla_ros authors
"""Any embodiment in Gazebo, driven by the VLA policy node (docs/gazebo.md).

    ros2 launch vla_ros gazebo.launch.py                      # the tabletop arm
    ros2 launch vla_ros gazebo.launch.py \
        config:=$(ros2 pkg prefix --share vla_ros)/config/aloha.yaml
    ros2 launch vla_ros gazebo.launch.py gui:=false policy.checkpoint:=/path/to/ckpt

Everything robot-specific comes from the embodiment YAML (``config:=``) and the files found
beside it by convention (``vla_ros.core.gazebo_bringup``): ``<embodiment.name>_controllers.yaml``
in the same directory, ``embodiment.urdf``, and ``urdf/<embodiment.name>_world.sdf`` (else the
package's ``urdf/gazebo_world.sdf``). They are checked against each other first
(``vla_ros.core.gazebo_consistency``); a mismatch stops the launch with a message naming it.

Started, in order:

1. Gazebo (``ros_gz_sim``'s ``gz_sim.launch.py``) with the world, running (``-r``);
   ``gui:=false`` runs the server only, rendering the cameras headless.
2. ``robot_state_publisher`` with the Gazebo description: the URDF with the
   ``gz_ros2_control/GazeboSimSystem`` hardware and the controllers YAML's installed path (no
   xacro; see ``gazebo_description``). gz_ros2_control's controller manager reads it from the
   ``robot_description`` topic.
3. ``ros_gz_bridge``: ``/clock`` and every camera of ``embodiment.cameras`` (its topic), Gazebo
   to ROS.
4. ``ros_gz_sim create`` spawns the robot from ``robot_description``; when it exits, the
   ``joint_state_broadcaster`` spawner; when that exits, one spawner for every other controller
   of the controllers YAML (the trajectory controllers, and any that only hold joints); when
   that exits, ``vla_policy_node`` on Gazebo's clock (``use_sim_time``).
"""

from __future__ import annotations

from pathlib import Path

from ament_index_python.packages import get_package_share_directory
from launch import LaunchContext, LaunchDescription
from launch.actions import (
    Action,
    DeclareLaunchArgument,
    IncludeLaunchDescription,
    OpaqueFunction,
    RegisterEventHandler,
)
from launch.event_handlers import OnProcessExit
from launch.launch_description_sources import PythonLaunchDescriptionSource
from launch.substitutions import LaunchConfiguration, PathJoinSubstitution
from launch_ros.actions import Node
from launch_ros.parameter_descriptions import ParameterValue
from launch_ros.substitutions import FindPackageShare

from vla_ros.core.gazebo_bringup import DEFAULT_WORLD, gazebo_description
from vla_ros.core.gazebo_consistency import bridge_arguments, load_gazebo_bringup

#: seconds a spawner waits for gz_ros2_control's controller manager (Gazebo starts slowly).
MANAGER_TIMEOUT_S = '60'


def _after(action: Node, then: Action) -> RegisterEventHandler:
    """Start ``then`` when ``action``'s process exits."""
    return RegisterEventHandler(OnProcessExit(target_action=action, on_exit=[then]))


def _spawner(controllers: list[str], parameters_file: Path) -> Node:
    return Node(package='controller_manager', executable='spawner', output='screen',
                arguments=[*controllers, '--param-file', str(parameters_file),
                           '--controller-manager-timeout', MANAGER_TIMEOUT_S])


def _bringup(context: LaunchContext) -> list[Action]:
    """Check the embodiment's files and make the actions that bring it up."""
    share = Path(get_package_share_directory('vla_ros'))
    config_path = Path(LaunchConfiguration('config').perform(context))
    bringup = load_gazebo_bringup(config_path, default_world=share / 'urdf' / DEFAULT_WORLD)
    world = LaunchConfiguration('world').perform(context) or str(bringup.world)
    headless = LaunchConfiguration('gui').perform(context).lower() in ('false', '0')
    description = gazebo_description(
        bringup.config.embodiment.urdf.read_text(),
        controllers=bringup.controllers_path.resolve(), package_shares={'vla_ros': share})

    gazebo = IncludeLaunchDescription(
        PythonLaunchDescriptionSource(str(
            Path(get_package_share_directory('ros_gz_sim')) / 'launch' / 'gz_sim.launch.py')),
        launch_arguments={
            'gz_args': f'-r {"-s --headless-rendering " if headless else ""}-v 3 {world}',
            'on_exit_shutdown': 'true'}.items())
    state_publisher = Node(
        package='robot_state_publisher', executable='robot_state_publisher', output='screen',
        parameters=[{'robot_description': description, 'use_sim_time': True}])
    bridge = Node(package='ros_gz_bridge', executable='parameter_bridge', output='screen',
                  arguments=bridge_arguments(bringup))
    spawn = Node(package='ros_gz_sim', executable='create', output='screen',
                 arguments=['-topic', 'robot_description',
                            '-name', bringup.config.embodiment.name])
    broadcaster = _spawner(['joint_state_broadcaster'], bringup.controllers_path)
    controllers = _spawner(list(bringup.controllers), bringup.controllers_path)
    policy = Node(
        package='vla_ros', executable='vla_policy_node', name='vla_policy_node',
        output='screen',
        parameters=[{'config_file': str(config_path),
                     'policy.checkpoint': ParameterValue(
                         LaunchConfiguration('policy.checkpoint'), value_type=str),
                     'use_sim_time': True}])
    return [gazebo, state_publisher, bridge, spawn,
            _after(spawn, broadcaster), _after(broadcaster, controllers),
            _after(controllers, policy)]


def generate_launch_description() -> LaunchDescription:
    """Declare the arguments; the actions depend on the embodiment YAML, read at launch."""
    return LaunchDescription([
        DeclareLaunchArgument(
            'config',
            default_value=PathJoinSubstitution(
                [FindPackageShare('vla_ros'), 'config', 'tabletop_arm.yaml']),
            description='embodiment YAML; <embodiment.name>_controllers.yaml must be beside it'),
        DeclareLaunchArgument(
            'world', default_value='',
            description='world SDF; empty: urdf/<embodiment.name>_world.sdf or the default'),
        DeclareLaunchArgument(
            'gui', default_value='true',
            description='false: Gazebo server only, cameras rendered headless'),
        DeclareLaunchArgument(
            'policy.checkpoint', default_value='',
            description='checkpoint directory; empty takes policy.checkpoint of the config'),
        OpaqueFunction(function=_bringup),
    ])
