# SPDX-License-Identifier: Apache-2.0
# Copyright 2026 The vla_ros authors
"""The ground floor of vla_ros: value types, config, errors, the policy contract; numpy only.

PyYAML reads the config. Every other layer imports from here and nothing here imports them.
The modules are imported on use (``from vla_ros.core.policy import Policy``); importing the
package itself loads none of them.
"""

__all__ = [
    'action_space_config', 'checked_mapping', 'config', 'errors', 'execution_config',
    'gazebo_bringup', 'gazebo_consistency', 'images', 'instructions', 'joint_presence',
    'normalization', 'observation_buffer', 'pointing_set', 'policy', 'policy_family',
    'policy_mapping', 'remote_config', 'rotations', 'sim_config', 'training_samples', 'types',
    'value_checks', 'warm_up',
]
