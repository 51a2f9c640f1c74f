# SPDX-License-Identifier: Apache-2.0
# Copyright 2026 The vla_ros authors
"""`vla-ros train`: fit a policy to recorded demonstrations and write its checkpoint.

Reads a dataset directory written by `vla-ros demos` (``vla_ros.sim.demonstrations``) or a
LeRobot dataset written by `vla-ros export` (``vla_ros.data.lerobot_dataset``) and trains
the family's model on this machine's CPU (``vla_ros.policies.flow.train`` for ``flow``).
The checkpoint loads with ``policy.family: flow`` and ``policy.checkpoint: OUT``.
A progress bar goes to stderr and the mean loss is printed every ``--log-every`` steps.
"""

from __future__ import annotations

import argparse
import logging
from pathlib import Path

from vla_ros.core.errors import ConfigError

__all__ = ['TRAINABLE_FAMILIES', 'add_arguments', 'run']

#: Families this verb can train.
TRAINABLE_FAMILIES = ('flow',)


def add_arguments(parser: argparse.ArgumentParser) -> None:
    """Declare the verb's options."""
    parser.add_argument('--family', choices=TRAINABLE_FAMILIES, default='flow',
                        help='policy family to train')
    parser.add_argument('--data', type=Path, required=True, metavar='DIR',
                        help='dataset directory written by vla-ros demos or vla-ros export')
    parser.add_argument('--out', type=Path, required=True, metavar='CHECKPOINT_DIR',
                        help='checkpoint directory to write')
    parser.add_argument('--steps', type=int, default=3000, help='optimizer steps')
    parser.add_argument('--batch-size', type=int, default=32, help='samples per step')
    parser.add_argument('--seed', type=int, default=0,
                        help='seeds weights, batch order, flow noise and sampling noise')
    parser.add_argument('--learning-rate', type=float, default=1e-3, help='peak AdamW rate')
    parser.add_argument('--chunk-length', type=int, default=10,
                        help='action steps per chunk the policy predicts')
    parser.add_argument('--log-every', type=int, default=100, metavar='N',
                        help='print the mean loss every N steps')
    parser.add_argument('--threads', type=int, default=1,
                        help='torch CPU threads (results repeat for the same count)')
    parser.add_argument('--no-progress', action='store_true', help='hide the progress bar')


def run(args: argparse.Namespace) -> int:
    """Train and write the checkpoint; exit 0 when it was written."""
    from vla_ros.data.lerobot_dataset import LeRobotTrainingDataset
    from vla_ros.data.lerobot_reader import is_lerobot_dataset
    from vla_ros.policies.flow.train import train, TrainingConfig
    from vla_ros.sim.demonstrations import DemonstrationDataset

    if args.chunk_length < 1:
        raise ConfigError(f'--chunk-length {args.chunk_length}: expected >= 1')
    config = TrainingConfig(
        steps=args.steps, batch_size=args.batch_size, learning_rate=args.learning_rate,
        seed=args.seed, log_every=args.log_every, torch_threads=args.threads)
    dataset: DemonstrationDataset | LeRobotTrainingDataset
    if is_lerobot_dataset(args.data):  # recorded on a robot and exported (`vla-ros export`)
        dataset = LeRobotTrainingDataset(args.data, chunk_length=args.chunk_length)
    else:  # simulated demonstrations (`vla-ros demos`)
        dataset = DemonstrationDataset(args.data, chunk_length=args.chunk_length)
    episodes = dataset.episodes
    if not episodes:
        raise ConfigError(f'{args.data}: no successful episode to learn from')
    logging.basicConfig(level=logging.INFO, format='vla-ros train: %(message)s')
    print(f'vla-ros train: {args.family} on {len(episodes)} episodes ({len(dataset)} samples) '
          f'from {args.data}', flush=True)
    result = train(dataset, args.out, dt_s=episodes[0].dt_s, config=config,
                   progress=not args.no_progress)
    last = result.losses[-args.log_every:]
    print(f'vla-ros train: {result.parameters} parameters, {len(result.losses)} steps in '
          f'{result.elapsed_s:.0f} s, loss {sum(last) / len(last):.4f} over the last '
          f'{len(last)} steps; wrote {result.checkpoint_dir.resolve()}')
    return 0
