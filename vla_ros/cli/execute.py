# SPDX-License-Identifier: Apache-2.0
# Copyright 2026 The vla_ros authors
"""`vla-ros execute TEXT`: send an ExecuteInstruction goal and print its feedback."""

from __future__ import annotations

import argparse
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from vla_ros.ros.one_shot_calls import GoalFeedback

__all__ = ['add_arguments', 'run']


def add_arguments(parser: argparse.ArgumentParser) -> None:
    """Declare the verb's options."""
    parser.add_argument('instruction', help='the task, e.g. "touch the red cube"')
    parser.add_argument('--duration', type=float, default=10.0, help='goal timeout_s, seconds')
    parser.add_argument('--action', default='vla/execute')


def run(args: argparse.Namespace) -> int:
    """Send the goal, print feedback lines and the result; exit 0 on success."""
    from vla_ros.ros.one_shot_calls import execute_once

    def show(feedback: GoalFeedback) -> None:
        print(f'  t={feedback.elapsed_s:5.1f} s  chunks={feedback.chunks_executed:3d}  '
              f'latency={feedback.last_inference_latency_ms:6.1f} ms  state={feedback.state}',
              flush=True)

    result = execute_once(args.instruction, duration_s=args.duration, action=args.action,
                          on_feedback=show)
    if result is None:
        print('goal rejected (see /vla/status last_error for why)')
        return 1
    print(f'success={result.success} chunks={result.chunks_executed} message={result.message!r}')
    return 0 if result.success else 1
