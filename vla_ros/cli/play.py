# SPDX-License-Identifier: Apache-2.0
# Copyright 2026 The vla_ros authors
"""`vla-ros play BAG`: publish a recorded bag again, with its timing (``ros2 bag play``)."""

from __future__ import annotations

import argparse

__all__ = ['add_arguments', 'run']

#: /clock rate when --clock is given without a value (rosbag2's default).
DEFAULT_CLOCK_HZ = 40.0


def add_arguments(parser: argparse.ArgumentParser) -> None:
    """Declare the verb's options."""
    parser.add_argument('bag', help='bag directory, or a .db3 or .mcap file')
    parser.add_argument('--rate', type=float, default=1.0, help='speed factor (default 1)')
    parser.add_argument('--loop', action='store_true', help='play again and again until Ctrl-C')
    parser.add_argument('--clock', type=float, nargs='?', const=DEFAULT_CLOCK_HZ, default=0.0,
                        metavar='HZ',
                        help=f'publish /clock from the bag (default {DEFAULT_CLOCK_HZ} Hz)')
    parser.add_argument('--remap', action='append', default=[], metavar='FROM:=TO',
                        help='publish bag topic FROM as TO (repeatable)')
    parser.add_argument('--wait-for-subscribers', type=float, default=0.0, metavar='S',
                        help='wait up to S seconds for every topic to have a subscriber')
    parser.add_argument('--discovery-timeout', type=float, default=None, metavar='S',
                        help='before the first message, wait up to S seconds for discovery to '
                        'match the subscribers already up (default 5; 0: start at once)')


def run(args: argparse.Namespace) -> int:
    """Play the bag to its end (or until Ctrl-C) and print what was published."""
    from vla_ros.ros.bag_sessions import play_bag, PlayOptions

    summary = play_bag(PlayOptions(
        bag=args.bag, rate=args.rate, loop=args.loop, clock_rate_hz=args.clock,
        wait_for_subscribers_s=args.wait_for_subscribers,
        discovery_timeout_s=args.discovery_timeout, remap=tuple(args.remap)),
        on_playing=lambda: print(f'vla-ros play: playing {args.bag}; Ctrl-C to stop',
                                 flush=True))
    for topic, count in summary.published.items():
        print(f'{topic}: {count} published')
    if summary.error is not None:
        print(f'vla-ros play: {summary.error}')
        return 1
    return 0
