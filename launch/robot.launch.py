# SPDX-License-Identifier: Apache-2.0
# Copyright 2026 The vla_ros authors
"""The VLA policy node for a real ros2_control robot.

    ros2 launch vla_ros robot.launch.py config_file:=/path/to/my_robot.yaml
    ros2 launch vla_ros robot.launch.py config_file:=/path/to/my_robot.yaml \
        policy.checkpoint:=/path/to/checkpoint policy.device:=cuda namespace:=arm1

This starts ``vla_policy_node`` only. You bring up the robot yourself, as for any ros2_control
robot (ros2.md section 1.6):

  1. ``robot_state_publisher`` with the URDF as ``robot_description``. Since Jazzy the
     controller manager reads the description from the ``robot_description`` topic.
  2. ``controller_manager/ros2_control_node`` with the controllers YAML, e.g.
     ``config/tabletop_arm_controllers.yaml``: one ``joint_state_broadcaster`` and one
     ``joint_trajectory_controller/JointTrajectoryController`` per joint group.
  3. ``controller_manager/spawner`` for ``joint_state_broadcaster`` and each trajectory
     controller.

For the tabletop arm on ros2_control's mock hardware (the URDF's ``<ros2_control>`` block uses
``mock_components/GenericSystem``), with ``share=$(ros2 pkg prefix --share vla_ros)``:

    ros2 run robot_state_publisher robot_state_publisher --ros-args \
        -p robot_description:="$(xacro $share/urdf/tabletop_arm.urdf)"
    ros2 run controller_manager ros2_control_node --ros-args \
        --params-file $share/config/tabletop_arm_controllers.yaml
    ros2 run controller_manager spawner joint_state_broadcaster arm_controller \
        gripper_controller
    ros2 launch vla_ros robot.launch.py config_file:=$share/config/tabletop_arm.yaml

How the config file meets the controllers: every entry of ``embodiment.controllers`` in the
config (controller name -> joints) must name a running joint_trajectory_controller with
exactly those joints. The policy node publishes each controller's part of every planned
trajectory on ``<controller>/joint_trajectory``, a name relative to its namespace, which is the
topic the controller subscribes to (``~/joint_trajectory``, that is
``/<controller>/joint_trajectory`` under a controller manager in the root namespace). The node
reads ``embodiment.joint_state_topic`` (``joint_states``, what ``joint_state_broadcaster``
publishes) and the camera topics of ``embodiment.cameras``, all relative names as well.

With ``namespace:=arm1`` every one of those names gains the ``/arm1`` prefix, so run
``ros2_control_node`` (and the camera drivers) in the same namespace, or remap.
"""

from __future__ import annotations

from launch import LaunchDescription
from launch.actions import DeclareLaunchArgument
from launch.substitutions import LaunchConfiguration
from launch_ros.actions import Node
from launch_ros.parameter_descriptions import ParameterValue


def _string_parameter(name: str) -> ParameterValue:
    """A parameter taken verbatim from the launch argument of the same name (never YAML-typed)."""
    return ParameterValue(LaunchConfiguration(name), value_type=str)


def generate_launch_description() -> LaunchDescription:
    """Declare the arguments and start the policy node."""
    return LaunchDescription([
        DeclareLaunchArgument(
            'config_file',
            description='embodiment YAML of this robot (required): joints, controllers, cameras'),
        DeclareLaunchArgument(
            'policy.checkpoint', default_value='',
            description='checkpoint directory; empty takes policy.checkpoint of the config'),
        DeclareLaunchArgument(
            'policy.device', default_value='',
            description='torch device (cpu, cuda, cuda:1); empty takes the config value'),
        DeclareLaunchArgument(
            'namespace', default_value='',
            description='namespace of the policy node and of every topic it uses'),
        Node(
            package='vla_ros', executable='vla_policy_node', name='vla_policy_node',
            namespace=LaunchConfiguration('namespace'), output='screen',
            parameters=[{
                'config_file': _string_parameter('config_file'),
                'policy.checkpoint': _string_parameter('policy.checkpoint'),
                'policy.device': _string_parameter('policy.device'),
            }]),
    ])
