# SPDX-License-Identifier: Apache-2.0
# Copyright 2026 The vla_ros authors
"""The ``main`` of every vla_ros node executable: init, construct, spin, clean stop on Ctrl-C."""

from __future__ import annotations

from collections.abc import Callable

import rclpy
from rclpy.executors import ExternalShutdownException, MultiThreadedExecutor
from rclpy.node import Node
from rclpy.signals import SignalHandlerOptions

from vla_ros.core.errors import VlaRosError

__all__ = ['run_node']

#: Longest the executor waits before the interpreter can see a pending Ctrl-C, seconds.
SPIN_PERIOD_S = 0.25


def run_node(factory: Callable[[], Node], *, name: str, args: list[str] | None = None) -> int:
    """Create the node with ``factory`` and spin it until Ctrl-C or shutdown; return exit code.

    rclpy's own signal handler is off: Ctrl-C raises KeyboardInterrupt while the context is
    still valid, so ``destroy_node`` can command a hold and stop its threads before the end.
    A VlaRosError (bad config, unwritable bag, ...) while constructing prints one line and
    returns 1.
    """
    try:
        with rclpy.init(args=args, signal_handler_options=SignalHandlerOptions.NO):
            try:
                node = factory()
            except VlaRosError as err:
                print(f'{name}: {err}')
                return 1
            executor = MultiThreadedExecutor()
            executor.add_node(node)
            try:
                while rclpy.ok():
                    executor.spin_once(timeout_sec=SPIN_PERIOD_S)
            finally:
                executor.shutdown()
                node.destroy_node()
    except (KeyboardInterrupt, ExternalShutdownException):
        pass
    return 0
