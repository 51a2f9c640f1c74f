# SPDX-License-Identifier: Apache-2.0
# Copyright 2026 The vla_ros authors
"""Running a policy on a robot, free of ROS: action chunks into limited joint trajectories.

``runner.PolicyRunner`` is the inference worker the policy node drives; ``chunk_planner``,
``chunk_scheduler``, ``temporal_ensemble`` and ``rtc`` turn chunks into a smooth, limited command
stream; ``joint_limits`` and ``kinematics`` read the URDF with Pinocchio. This layer imports
``core`` only (policies reach it as a ``core.policy.PolicyLoader``). Modules are imported on use.
"""

__all__ = [
    'action_space_policy', 'action_spaces', 'action_timeline', 'chunk_planner', 'chunk_scheduler',
    'conversion_report', 'ee_actions', 'joint_limits', 'joint_semantics', 'kinematics',
    'policy_call', 'policy_deadline', 'policy_setup', 'rtc', 'runner', 'runner_status',
    'smoothness', 'temporal_ensemble',
]
