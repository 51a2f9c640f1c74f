# SPDX-License-Identifier: Apache-2.0
# Copyright 2026 The vla_ros authors
"""vla_ros: deploy Vision-Language-Action policies on ROS 2 / ros2_control robots.

Layers, each importing only those below it: ``core`` (numpy) <- ``policies``, ``execution``,
``sim`` <- ``ros`` (the only rclpy user) <- ``cli``. The colcon build adds the generated
interfaces ``vla_ros.msg``, ``vla_ros.srv`` and ``vla_ros.action`` to this package.
"""
