# SPDX-License-Identifier: Apache-2.0
# Copyright 2026 The vla_ros authors
"""`vla-ros sim`: the simulated bring-up (what launch/sim.launch.py starts on a ROS install)."""

from __future__ import annotations

import argparse
from pathlib import Path

from vla_ros.cli.config_path import add_config_argument, default_config_path

__all__ = ['add_arguments', 'run']


def add_arguments(parser: argparse.ArgumentParser) -> None:
    """Declare the verb's options."""
    add_config_argument(parser)
    parser.add_argument('--seed', type=int, default=-1, help='object placement seed')
    parser.add_argument('--no-policy', action='store_true',
                        help='start only the simulated robot (bring your own policy node)')


def run(args: argparse.Namespace) -> int:
    """Start the sim and policy nodes in this process; run until Ctrl-C."""
    from vla_ros.ros.sim_graph import run_until_interrupted

    config = Path(args.config or default_config_path())
    run_until_interrupted(config, seed=args.seed, with_policy=not args.no_policy,
                          on_running=lambda: print(f'vla-ros sim: running {config}; Ctrl-C to '
                                                   'stop', flush=True))
    return 0
