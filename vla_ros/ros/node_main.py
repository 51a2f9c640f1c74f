# SPDX-License-Identifier: Apache-2.0
# Copyright 2026 The vla_ros authors
"""The ``main`` of every vla_ros node executable: init, construct, spin, clean stop on Ctrl-C."""

from __future__ import annotations

from collections.abc import Callable

from rclpy.node import Node

from vla_ros.core.errors import VlaRosError
from vla_ros.ros.in_process import InProcessGraph, sigterm_as_interrupt, wait_until_interrupted

__all__ = ['run_node']

#: How often the main thread looks whether the context was shut down, seconds.
CONTEXT_POLL_S = 0.25


def run_node(factory: Callable[..., Node], *, name: str, args: list[str] | None = None) -> int:
    """Create the node with ``factory(context=...)`` and spin it until Ctrl-C; return exit code.

    The node runs in an ``InProcessGraph`` (its executor on a background thread, rclpy's own
    signal handler off), so Ctrl-C or SIGTERM (ros2 launch's stop) reaches the main thread as
    KeyboardInterrupt while the context is still valid. Closing the graph then shuts a
    lifecycle node down while the executor still spins: the policy node holds the arm and
    aborts its goal with a reason before the process ends. A VlaRosError (bad config,
    unwritable bag, ...) while constructing prints one line and returns 1.
    """
    try:
        with sigterm_as_interrupt(), InProcessGraph(args=args) as graph:
            try:
                graph.add(factory)
            except VlaRosError as err:
                print(f'{name}: {err}')
                return 1
            while graph.context.ok():
                wait_until_interrupted(CONTEXT_POLL_S)
    except KeyboardInterrupt:
        pass
    return 0
