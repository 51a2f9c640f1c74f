# SPDX-License-Identifier: Apache-2.0
# Copyright 2026 The vla_ros authors
"""`vla-ros eval-bag BAG --policy CHECKPOINT`: open-loop error of a policy on a recording.

At each recorded frame (the policy's step; every ``--stride``-th) the policy predicts a chunk
from the recorded observation, compared with the actions recorded after it. Prints a per-joint
error table (mean absolute error of all rows and of the first row, RMS, maximum) per episode
and over all, and writes a PNG per episode: recorded vs predicted, per joint.
"""

from __future__ import annotations

import argparse
import importlib.util
from pathlib import Path
from typing import TYPE_CHECKING

from vla_ros.cli.export import parse_cameras

if TYPE_CHECKING:
    from vla_ros.data.eval_bag import JointError

__all__ = ['add_arguments', 'format_errors', 'run']


def add_arguments(parser: argparse.ArgumentParser) -> None:
    """Declare the verb's options."""
    parser.add_argument('bag', type=Path, help='bag directory, or a .db3 or .mcap file')
    parser.add_argument('--policy', type=Path, required=True, metavar='CHECKPOINT',
                        help='checkpoint directory')
    parser.add_argument('--family', default='flow', help='policy family (default flow)')
    parser.add_argument('--device', default='cpu', help='torch device (default cpu)')
    parser.add_argument('--stride', type=int, default=1,
                        help='evaluate every N-th frame (default 1: all)')
    parser.add_argument('--episodes', choices=('auto', 'markers', 'goals', 'whole-bag'),
                        default='auto', help='what marks the episodes (default: auto)')
    parser.add_argument('--camera', action='append', default=[], metavar='NAME=TOPIC',
                        help='the topic of a policy camera (repeatable; default: named after '
                             'the topic)')
    parser.add_argument('--instruction', default='',
                        help='instruction of episodes whose bag records none')
    parser.add_argument('--plots', type=Path, default=None, metavar='DIR',
                        help='where the PNGs go (default: BAG_eval next to the bag)')
    parser.add_argument('--threads', type=int, default=1,
                        help='torch CPU threads (default 1, the fastest on a shared machine)')


def format_errors(errors: tuple[JointError, ...]) -> list[str]:
    """The per-joint error table, one line per joint plus a header."""
    lines = [f'  {"joint":<16} {"MAE":>10} {"first MAE":>10} {"RMSE":>10} {"max":>10}']
    lines += [f'  {e.joint:<16} {e.mean_abs:10.5f} {e.first_step_mean_abs:10.5f} '
              f'{e.rmse:10.5f} {e.max_abs:10.5f}' for e in errors]
    return lines


def run(args: argparse.Namespace) -> int:
    """Evaluate, print the tables, write the plots."""
    from vla_ros.data.episodes import EpisodeSource
    from vla_ros.data.eval_bag import evaluate_bag
    from vla_ros.data.eval_plot import plot_episode
    from vla_ros.policies.registry import load_policy

    if importlib.util.find_spec('torch') is not None:
        import torch

        torch.set_num_threads(args.threads)
    policy = load_policy(args.family, args.policy, device=args.device)
    evaluation = evaluate_bag(args.bag, policy, stride=args.stride,
                              episode_source=EpisodeSource(args.episodes),
                              cameras=parse_cameras(args.camera),
                              default_instruction=args.instruction)
    plots = args.plots or args.bag.parent / f'{args.bag.name}_eval'
    print(f'vla-ros eval-bag: {args.bag}, {len(evaluation.episodes)} episodes, errors in rad '
          '(m for prismatic joints)')
    for index, episode in enumerate(evaluation.episodes):
        span = episode.episode
        print(f'episode {index}: {span.instruction!r} ({span.outcome.value}), '
              f'{len(episode.recorded)} frames, {len(episode.chunks)} chunks')
        print('\n'.join(format_errors(episode.errors)))
        path = plots / f'episode_{index:03d}.png'
        plot_episode(episode, path, title=f'episode {index}: {span.instruction}')
        print(f'  plot: {path}')
    print('all episodes:')
    print('\n'.join(format_errors(evaluation.errors)))
    return 0
