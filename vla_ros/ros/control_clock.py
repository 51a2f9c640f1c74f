# SPDX-License-Identifier: Apache-2.0
# Copyright 2026 The vla_ros authors
"""The clock the policy runner schedules chunks on: the controllers' clock.

Trajectory times (``time_from_start``) are read by the controller on its own clock, so the
runner must plan on the same one. For a real robot that is the wall clock (monotonic here, so
that clock adjustments do not disturb the plan). With ``use_sim_time`` the controllers run on
simulated time, which a loaded machine slows down; the runner then follows ``/clock``.
"""

from __future__ import annotations

from collections.abc import Callable
import time
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from rclpy.node import Node

__all__ = ['control_clock']


def control_clock(node: Node) -> Callable[[], float]:
    """Seconds on the controllers' clock: the ROS clock with use_sim_time, else monotonic."""
    if not node.get_parameter('use_sim_time').value:
        return time.monotonic
    clock = node.get_clock()
    return lambda: clock.now().nanoseconds * 1e-9
