# SPDX-License-Identifier: Apache-2.0
# Copyright 2026 The vla_ros authors
"""`vla-ros export BAG... --lerobot OUT`: recorded bags -> a LeRobotDataset v3.0 directory.

Each bag is split into episodes (the recorder's episode markers, else the ``vla/execute``
goals, else the whole bag), resampled to ``--fps`` and written with its statistics. Parquet
tables need pyarrow and MP4 videos need PyAV; without them the tables are ``.npz`` files and
the images stay in the data rows, and the verb says so.
"""

from __future__ import annotations

import argparse
from pathlib import Path

from vla_ros.core.errors import ConfigError

__all__ = ['add_arguments', 'parse_cameras', 'run']


def parse_cameras(specs: list[str]) -> dict[str, str] | None:
    """``NAME=TOPIC`` entries as {camera name: topic}; None when there are none.

    Raises:
        ConfigError: an entry without ``=`` or with an empty side.
    """
    cameras = {}
    for spec in specs:
        name, separator, topic = spec.partition('=')
        if not separator or not name or not topic:
            raise ConfigError(f'--camera {spec!r}: expected NAME=TOPIC')
        cameras[name] = topic
    return cameras or None


def add_arguments(parser: argparse.ArgumentParser) -> None:
    """Declare the verb's options."""
    parser.add_argument('bags', nargs='+', type=Path, metavar='BAG',
                        help='bag directories (or .db3/.mcap files), in episode order')
    parser.add_argument('--lerobot', type=Path, required=True, metavar='OUT',
                        help='dataset directory to create')
    parser.add_argument('--fps', type=int, default=30, help='frames per second (default 30)')
    parser.add_argument('--task', default='',
                        help='instruction of episodes whose bag records none')
    parser.add_argument('--episodes', choices=('auto', 'markers', 'goals', 'whole-bag'),
                        default='auto', help='what marks the episodes (default: auto)')
    parser.add_argument('--actions', choices=('commands', 'next-state'), default='commands',
                        help='actions from the recorded joint trajectories, or the next '
                             'measured state (default: commands)')
    parser.add_argument('--joints', nargs='+', default=None, metavar='JOINT',
                        help='joints in order (default: the measured and commanded ones)')
    parser.add_argument('--camera', action='append', default=[], metavar='NAME=TOPIC',
                        help='a camera to export and its name (repeatable; default: every '
                             'image topic, named after it)')
    parser.add_argument('--images', choices=('video', 'image'), default=None,
                        help='MP4 per camera (needs PyAV) or images in the data rows '
                             '(default: video when PyAV is installed)')
    parser.add_argument('--tables', choices=('parquet', 'npz'), default=None,
                        help='table files (default: parquet when pyarrow is installed)')
    parser.add_argument('--robot-type', default=None, help="info.json's robot_type")


def run(args: argparse.Namespace) -> int:
    """Export and print what was written."""
    from vla_ros.data.episodes import EpisodeSource
    from vla_ros.data.lerobot_export import export_lerobot, ExportOptions
    from vla_ros.data.lerobot_layout import ImageStorage
    from vla_ros.data.sync import ActionSource
    from vla_ros.data.table_files import TableFormat
    from vla_ros.data.video_files import video_available

    tables = TableFormat(args.tables) if args.tables else TableFormat.best_available()
    images = ImageStorage(args.images) if args.images else (
        ImageStorage.VIDEO if video_available() else ImageStorage.IMAGE)
    if args.tables is None and tables is TableFormat.NPZ:
        print('vla-ros export: pyarrow is not installed: tables are .npz files, not Parquet')
    if args.images is None and images is ImageStorage.IMAGE:
        print('vla-ros export: PyAV is not installed: images go into the data rows, not MP4')
    options = ExportOptions(
        fps=args.fps, action_source=ActionSource(args.actions),
        episode_source=EpisodeSource(args.episodes),
        joint_names=tuple(args.joints) if args.joints else None,
        cameras=parse_cameras(args.camera), default_instruction=args.task,
        image_storage=images, table_format=tables, robot_type=args.robot_type)
    summary = export_lerobot(list(args.bags), args.lerobot, options)
    layout = summary.layout
    print(f'vla-ros export: {summary.episodes} episodes, {summary.frames} frames at '
          f'{layout.fps} fps; joints {", ".join(layout.joint_names)}; cameras '
          f'{", ".join(f"{c.name} {c.width}x{c.height}" for c in layout.cameras)}')
    for index, task in enumerate(summary.tasks):
        print(f'  task {index}: {task}')
    print(f'dataset: {summary.root}')
    return 0
