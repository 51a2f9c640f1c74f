# SPDX-License-Identifier: Apache-2.0
# Copyright 2026 The vla_ros authors
"""The rclpy layer: the only part of vla_ros that imports rclpy or ROS message packages.

``nodes`` holds the four node classes (policy, sim, recorder, player); the other modules convert
messages (``convert``), fix QoS (``qos``), declare parameters (``params``), run graphs in one
process (``in_process``, ``sim_graph``) and give the ``vla-ros`` verbs their ROS side
(``one_shot_calls``, ``bag_sessions``, ``demo_run``, ``evaluation``). Modules are imported on
use, so importing this package does not start or import rclpy.
"""

__all__ = [
    'nodes', 'bag_sessions', 'bag_topics', 'clients', 'control_clock', 'convert', 'demo_run',
    'evaluation', 'evaluation_report', 'in_process', 'instruction_goals', 'motion_gate',
    'motion_log', 'moveit_ik', 'node_main', 'one_shot_calls', 'params', 'qos', 'sensor_log',
    'sim_graph', 'success_check', 'trajectory_wire',
]
