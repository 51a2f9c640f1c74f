# SPDX-License-Identifier: Apache-2.0
# Copyright 2026 The vla_ros authors
"""Several nodes in one process, in a private rclpy context, spun on a background thread.

This is how `vla-ros sim`/`demo` start the graph where ros2 launch is unavailable, and how
the tests isolate themselves: each graph has its own context and may pin its DDS domain.
"""

from __future__ import annotations

from collections.abc import Callable
import threading
from typing import TypeVar

import rclpy
from rclpy.context import Context
from rclpy.executors import MultiThreadedExecutor
from rclpy.node import Node
from rclpy.signals import SignalHandlerOptions

__all__ = ['InProcessGraph']

NodeT = TypeVar('NodeT', bound=Node)


class InProcessGraph:
    """Owns a context, a multi-threaded executor spinning in a thread, and the nodes added."""

    def __init__(self, *, domain_id: int | None = None, args: list[str] | None = None) -> None:
        self.context = Context()
        # No rclpy signal handler: Ctrl-C reaches the caller as KeyboardInterrupt while the
        # context is still valid, so closing the graph can command holds before it ends.
        rclpy.init(args=args, context=self.context, domain_id=domain_id,
                   signal_handler_options=SignalHandlerOptions.NO)
        self._executor = MultiThreadedExecutor(num_threads=4, context=self.context)
        self._nodes: list[Node] = []
        self._thread = threading.Thread(target=self._spin, name='executor', daemon=True)
        self._thread.start()

    def add(self, factory: Callable[..., NodeT], **kwargs: object) -> NodeT:
        """Create a node with ``factory(context=..., **kwargs)`` and spin it."""
        node = factory(context=self.context, **kwargs)
        self._nodes.append(node)
        self._executor.add_node(node)
        return node

    def _spin(self) -> None:
        try:
            self._executor.spin()
        except rclpy.executors.ExternalShutdownException:
            pass

    def close(self) -> None:
        """Stop spinning, destroy the nodes (last added first) and shut the context down."""
        self._executor.shutdown(timeout_sec=5.0)
        self._thread.join(timeout=5.0)
        for node in reversed(self._nodes):
            node.destroy_node()
        self._nodes.clear()
        self.context.try_shutdown()

    def __enter__(self) -> InProcessGraph:
        return self

    def __exit__(self, *exc_info: object) -> None:
        self.close()
