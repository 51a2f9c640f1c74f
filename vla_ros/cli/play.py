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
    from rclpy.parameter import Parameter

    from vla_ros.ros.in_process import InProcessGraph
    from vla_ros.ros.nodes.player_node import PlayerNode

    with InProcessGraph() as graph:
        overrides = [Parameter('bag', value=args.bag), Parameter('rate', value=float(args.rate)),
                     Parameter('loop', value=args.loop),
                     Parameter('clock_rate_hz', value=float(args.clock)),
                     Parameter('wait_for_subscribers_s', value=float(args.wait_for_subscribers))]
        if args.discovery_timeout is not None:
            overrides.append(Parameter('discovery_timeout_s', value=float(args.discovery_timeout)))
        if args.remap:  # rclpy types an empty list as bytes
            overrides.append(Parameter('remap', value=list(args.remap)))
        player = graph.add(PlayerNode, parameter_overrides=overrides)
        print(f'vla-ros play: playing {args.bag}; Ctrl-C to stop', flush=True)
        try:
            player.wait_until_done()
        except KeyboardInterrupt:
            pass
        finally:
            player.stop()
        published = player.published()
        error = player.error
    for topic, count in published.items():
        print(f'{topic}: {count} published')
    if error is not None:
        print(f'vla-ros play: {error}')
        return 1
    return 0
