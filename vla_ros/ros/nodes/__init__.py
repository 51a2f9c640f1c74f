# SPDX-License-Identifier: Apache-2.0
# Copyright 2026 The vla_ros authors
"""The node classes behind ``ros2 run vla_ros ...`` and the launch files, one per module.

``policy_node.PolicyNode`` (lifecycle: the policy, its inputs and the trajectory controllers),
``sim_node.SimNode`` (the MuJoCo robot behind ros2_control's interfaces),
``recorder_node.RecorderNode`` and ``player_node.PlayerNode`` (rosbag2 bags as bytes).
"""

__all__ = [
    'player_node', 'policy_node', 'recorder_node', 'sim_node',
]
