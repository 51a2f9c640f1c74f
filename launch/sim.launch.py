# SPDX-License-Identifier: Apache-2.0
# Copyright 2026 The vla_ros authors
"""Simulated bring-up: the MuJoCo tabletop arm and the VLA policy node.

The same graph that ``vla-ros sim --config config/tabletop_arm.yaml`` starts in one process,
here as two processes for a ROS 2 (Jazzy or later) install:

    ros2 launch vla_ros sim.launch.py
    ros2 launch vla_ros sim.launch.py seed:=3 policy.checkpoint:=$PWD/out/my_flow_checkpoint

``vla_mujoco_sim`` speaks the topics of a ros2_control robot (``/<controller>/joint_trajectory``
in, ``joint_states`` and the camera images out); ``vla_policy_node`` reads them and waits for an
instruction (``ros2 service call /vla/set_instruction ...`` or ``vla-ros instruct``). The policy
node runs on the simulator's ``/clock`` (``use_sim_time``), the simulated controllers' clock, so
its chunks and goal durations keep pace with a simulator that a loaded machine slows down.

Relative paths in the config file resolve against the directory above it, so with the
installed config a relative ``policy.checkpoint`` points into the package's share directory;
pass an absolute ``policy.checkpoint`` to use a checkpoint elsewhere.
"""

from __future__ import annotations

from launch import LaunchDescription
from launch.actions import DeclareLaunchArgument
from launch.substitutions import LaunchConfiguration, PathJoinSubstitution
from launch_ros.actions import Node
from launch_ros.parameter_descriptions import ParameterValue
from launch_ros.substitutions import FindPackageShare


def generate_launch_description() -> LaunchDescription:
    """Declare the arguments and start the simulated robot and the policy node."""
    config_file = ParameterValue(LaunchConfiguration('config_file'), value_type=str)
    seed = ParameterValue(LaunchConfiguration('seed'), value_type=int)
    checkpoint = ParameterValue(LaunchConfiguration('policy.checkpoint'), value_type=str)
    return LaunchDescription([
        DeclareLaunchArgument(
            'config_file',
            default_value=PathJoinSubstitution(
                [FindPackageShare('vla_ros'), 'config', 'tabletop_arm.yaml']),
            description='embodiment YAML read by both nodes'),
        DeclareLaunchArgument(
            'seed', default_value='-1',
            description='object placement seed of the simulation; -1 takes sim.seed'),
        DeclareLaunchArgument(
            'policy.checkpoint', default_value='',
            description='checkpoint directory; empty takes policy.checkpoint of the config'),
        Node(
            package='vla_ros', executable='vla_mujoco_sim', name='vla_mujoco_sim',
            output='screen',
            parameters=[{'config_file': config_file, 'seed': seed}]),
        Node(
            package='vla_ros', executable='vla_policy_node', name='vla_policy_node',
            output='screen',
            parameters=[{'config_file': config_file, 'policy.checkpoint': checkpoint,
                         'use_sim_time': True}]),
    ])
