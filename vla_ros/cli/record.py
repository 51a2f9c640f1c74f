# SPDX-License-Identifier: Apache-2.0
# Copyright 2026 The vla_ros authors
"""`vla-ros record -o OUT [TOPIC...]`: topics into a rosbag2 bag until Ctrl-C or --duration.

A TOPIC is ``NAME`` (type from the graph), ``NAME:pkg/msg/Type`` or a ``*`` pattern; with none,
the policy node's topics are recorded. Prints per-topic counts at the end, with the messages
the middleware reports lost on the way (a best-effort publisher's drops).
"""

from __future__ import annotations

import argparse

__all__ = ['add_arguments', 'run']


def add_arguments(parser: argparse.ArgumentParser) -> None:
    """Declare the verb's options."""
    parser.add_argument('topics', nargs='*', metavar='TOPIC',
                        help='NAME, NAME:pkg/msg/Type or pattern (default: the policy topics)')
    parser.add_argument('-o', '--output', required=True, help='bag directory to create')
    parser.add_argument('--storage', choices=('sqlite3', 'mcap'), default='sqlite3')
    parser.add_argument('--bag-version', type=int, choices=(8, 9), default=8,
                        help='rosbag2 metadata version (8: readable by Humble and later)')
    parser.add_argument('--duration', type=float, default=None,
                        help='seconds to record (default: until Ctrl-C)')
    parser.add_argument('--wait', type=float, default=10.0,
                        help='seconds to wait for named topics to appear in the graph')


def run(args: argparse.Namespace) -> int:
    """Record, then print what was received and written per topic."""
    from vla_ros.ros.bag_sessions import record_bag, RecordOptions

    until = f'for {args.duration} s' if args.duration else 'until Ctrl-C'
    summary = record_bag(RecordOptions(
        output=args.output, storage=args.storage, bag_version=args.bag_version,
        topics=tuple(args.topics), wait_s=args.wait, duration_s=args.duration),
        on_recording=lambda bag: print(f'vla-ros record: recording into {bag} {until}',
                                       flush=True))
    for topic in summary.counts:
        dropped = f'; {summary.lost[topic.topic]} lost on the way' \
            if summary.lost.get(topic.topic) else ''
        print(f'{topic.topic} ({topic.type_name}): {topic.written} written of '
              f'{topic.received} received{dropped}')
    print(f'bag: {args.output}')
    return 0
