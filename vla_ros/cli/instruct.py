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
    from vla_ros.ros.one_shot_calls import instruct_once

    answer = instruct_once(args.instruction, service=args.service, timeout_s=args.timeout)
    print(f'accepted={answer.ok} message={answer.message!r}')
    return 0 if answer.ok else 1
