# SPDX-License-Identifier: Apache-2.0
# Copyright 2026 The vla_ros authors
"""`vla-ros stop` / `vla-ros resume`: the vla/stop and vla/resume Trigger services, no ros2cli."""

from __future__ import annotations

import argparse

__all__ = ['add_arguments', 'run']


def add_arguments(parser: argparse.ArgumentParser) -> None:
    """Declare the verb's options."""
    parser.add_argument('--service', default=None, help='default: vla/<verb>')
    parser.add_argument('--timeout', type=float, default=10.0, help='seconds to wait')


def run(args: argparse.Namespace) -> int:
    """Call the verb's Trigger service; exit 0 when the node confirmed it."""
    from vla_ros.ros.one_shot_calls import trigger_once

    answer = trigger_once(args.service or f'vla/{args.verb}', node_name=f'vla_ros_{args.verb}',
                          timeout_s=args.timeout)
    print(f'success={answer.ok} message={answer.message!r}')
    return 0 if answer.ok else 1
