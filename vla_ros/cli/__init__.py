# SPDX-License-Identifier: Apache-2.0
# Copyright 2026 The vla_ros authors
"""``vla-ros``: the command line, one module per verb (``main`` dispatches).

Verbs are thin: ROS work happens in ``vla_ros.ros`` functions they call, so no module here
imports rclpy. Modules are imported on use.
"""

__all__ = [
    'config_path', 'demo', 'demos', 'eval', 'eval_bag', 'execute', 'export', 'import_bag',
    'inspect', 'inspect_fast', 'instruct', 'main', 'play', 'pointing', 'random_checkpoint',
    'record', 'serve', 'sim', 'stop', 'train', 'train_families',
]
