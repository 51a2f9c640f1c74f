# SPDX-License-Identifier: Apache-2.0
# Copyright 2026 The vla_ros authors
"""`vla-ros import DATASET -o BAG`: a LeRobotDataset v3.0 directory -> a rosbag2 bag.

Joint states, rgb8 camera images, a one-point joint trajectory per frame (its action) and
the recorder's episode markers, so that `vla-ros export` gives the same frames back and
`vla-ros play` replays the demonstrations. The actions go to ``/joint_trajectory``, which no
controller reads, unless ``--command-topic`` says otherwise.
"""

from __future__ import annotations

import argparse
from pathlib import Path

__all__ = ['add_arguments', 'run']


def add_arguments(parser: argparse.ArgumentParser) -> None:
    """Declare the verb's options."""
    parser.add_argument('dataset', type=Path, help='LeRobot dataset directory')
    parser.add_argument('-o', '--output', type=Path, required=True, help='bag directory to create')
    parser.add_argument('--storage', choices=('sqlite3', 'mcap'), default='sqlite3')
    parser.add_argument('--command-topic', default='/joint_trajectory',
                        help='topic of the actions (default /joint_trajectory)')


def run(args: argparse.Namespace) -> int:
    """Import and print what was written."""
    from vla_ros.data.bag_writer import StorageFormat
    from vla_ros.data.lerobot_import import import_lerobot

    summary = import_lerobot(args.dataset, args.output, storage=StorageFormat(args.storage),
                             command_topic=args.command_topic)
    print(f'vla-ros import: {summary.episodes} episodes, {summary.frames} frames, '
          f'{summary.messages} messages')
    print(f'bag: {summary.bag}')
    return 0
