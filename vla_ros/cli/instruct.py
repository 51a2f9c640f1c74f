# SPDX-License-Identifier: Apache-2.0
# Copyright 2026 The vla_ros authors
"""`vla-ros instruct TEXT`: `ros2 service call /vla/set_instruction`, without ros2cli."""

from __future__ import annotations

import argparse

__all__ = ['add_arguments', 'run']


def add_arguments(parser: argparse.ArgumentParser) -> None:
    """Declare the verb's options."""
    parser.add_argument('instruction', help='the task, e.g. "touch the red cube"')
    parser.add_argument('--service', default='vla/set_instruction')
    parser.add_argument('--timeout', type=float, default=10.0, help='seconds to wait')


def run(args: argparse.Namespace) -> int:
    """Call the service; exit 0 when the instruction was accepted."""
    from rclpy.node import Node

    from vla_ros.ros.clients import set_instruction
    from vla_ros.ros.in_process import InProcessGraph

    with InProcessGraph() as graph:
        node = graph.add(Node, node_name='vla_ros_instruct')
        response = set_instruction(node, args.instruction, service=args.service,
                                   timeout_s=args.timeout)
    print(f'accepted={response.accepted} message={response.message!r}')
    return 0 if response.accepted else 1
