# SPDX-License-Identifier: Apache-2.0
# Copyright 2026 The vla_ros authors
"""`vla-ros eval`: closed-loop success rate of a checkpoint on a sim task, over ROS.

Starts the simulated arm and the policy node in this process and runs seeded episodes of the
task (see ``vla_ros.ros.evaluation``); ``--expert`` runs the scripted expert through the same
sim node and trajectory topics instead, which checks the harness itself. Writes the JSON
report of ``vla_ros.ros.evaluation_report`` (success rate, times to success, latency, the
smoothness metrics, and each episode's outcome and failure reason). Times are simulated
seconds.
"""

from __future__ import annotations

import argparse
import functools
import json
from pathlib import Path
from typing import TYPE_CHECKING

from vla_ros.cli.config_path import add_config_argument, default_config_path, load_sim_config
from vla_ros.core.config import ExecutionStrategy
from vla_ros.core.errors import ConfigError

if TYPE_CHECKING:
    from vla_ros.ros.evaluation import EpisodeRecord, EvaluatedEpisode
    from vla_ros.ros.evaluation_report import ReportSettings

__all__ = ['add_arguments', 'report_settings', 'run']


def add_arguments(parser: argparse.ArgumentParser) -> None:
    """Declare the verb's options."""
    add_config_argument(parser)
    source = parser.add_mutually_exclusive_group(required=True)
    source.add_argument('--policy', type=Path, metavar='CHECKPOINT_DIR',
                        help='checkpoint the policy node loads (policy.checkpoint)')
    source.add_argument('--expert', action='store_true',
                        help='run the scripted expert instead, to check the harness')
    parser.add_argument('--family', default=None,
                        help='policy family (policy.family; default: the config)')
    parser.add_argument('--strategy', choices=[strategy.value for strategy in ExecutionStrategy],
                        default=None,
                        help='chunk execution strategy (execution.strategy; default: the config)')
    parser.add_argument('--horizon', type=int, default=None, metavar='STEPS',
                        help='chunk steps executed per inference (execution.horizon; default: '
                             'the config)')
    parser.add_argument('--task', choices=('reach', 'lift', 'place', 'side_reach', 'handover',
                                           'hand_reach'),
                        required=True, help='reach, lift, place: the tabletop arm (place: with '
                        'config/tabletop_arm_place.yaml); side_reach, '
                        'handover: the ALOHA rig (vla_ros.sim.bimanual_tasks); hand_reach: the '
                        'humanoid (vla_ros.sim.humanoid_tasks)')
    parser.add_argument('--episodes', type=int, default=10, help='how many episodes')
    parser.add_argument('--seed', type=int, default=1000,
                        help='scene seed of the first episode; episode i uses seed + i')
    parser.add_argument('--episode-timeout', type=float, default=15.0, metavar='S',
                        help='simulated seconds before an episode counts as failed')
    parser.add_argument('--json', type=Path, required=True, metavar='PATH',
                        help='where to write the report')


def report_settings(args: argparse.Namespace) -> ReportSettings:
    """The report's header: what the command line asked to evaluate."""
    from vla_ros.ros.evaluation_report import ReportSettings

    return ReportSettings(
        task=args.task, checkpoint=None if args.expert else args.policy, family=args.family,
        strategy=None if args.strategy is None else ExecutionStrategy(args.strategy),
        horizon=args.horizon, seed=args.seed, episode_timeout_s=args.episode_timeout)


def _check_options(args: argparse.Namespace) -> None:
    """ConfigError for option values the evaluation cannot run with."""
    if args.episodes < 1 or args.seed < 0 or not args.episode_timeout > 0.0:
        raise ConfigError(f'--episodes {args.episodes} --seed {args.seed} --episode-timeout '
                          f'{args.episode_timeout}: expected >= 1, >= 0 and > 0')
    if args.expert and (args.family or args.strategy or args.horizon is not None):
        raise ConfigError('--family, --strategy and --horizon apply to --policy, not to '
                          '--expert')
    if args.horizon is not None and args.horizon < 1:
        raise ConfigError(f'--horizon {args.horizon}: expected an integer >= 1')


def _check_place_scene(config_path: Path) -> None:
    """ConfigError unless the config's scene holds the place task's target pad."""
    from vla_ros.sim.tasks import check_scene_objects, TaskKind

    _, sim = load_sim_config(config_path, needed_for='place evaluations')
    check_scene_objects(TaskKind.PLACE, [placed.name for placed in sim.objects])


def _show(episodes: int, record: EpisodeRecord) -> None:
    """One line per finished episode."""
    from vla_ros.sim.tasks import FailureReason

    took = 'timeout' if record.time_to_success_s is None \
        else f'{record.time_to_success_s:.1f} s'
    if record.failure_reason is not None:
        took += f', {record.failure_reason.value}'
        if record.closest_m is not None and record.ended_nearest is not None:
            nearest = record.ended_nearest
            cube = 'it' if nearest is record.episode.colour else f'the {nearest.value} cube'
            took += f'; closest {100 * record.closest_m:.1f} cm, ended nearest {cube}'
        if record.off_target_m and record.failure_reason in (
                FailureReason.DROPPED_OUTSIDE, FailureReason.PLACED_OUTSIDE):
            took += f'; {100 * record.off_target_m:.1f} cm off the pad'
    print(f'  episode {record.index + 1}/{episodes} seed {record.episode.seed} '
          f'"{record.episode.instruction}": {"success" if record.success else "failure"} '
          f'({took})', flush=True)


def run(args: argparse.Namespace) -> int:
    """Run the evaluation and write the report; exit 0 when it ran to the end."""
    from vla_ros.ros.evaluation import evaluate, PolicyUnderTest
    from vla_ros.ros.evaluation_report import evaluation_report
    from vla_ros.sim.bimanual_tasks import sample_task_episodes
    from vla_ros.sim.humanoid_tasks import HAND_REACH_TASK, sample_hand_reach_episodes

    _check_options(args)
    settings = report_settings(args)
    config_path = args.config or default_config_path()
    if args.task == 'place':  # the one tabletop task whose scene is not the default's
        _check_place_scene(Path(config_path))
    episodes: list[EvaluatedEpisode] = [
        *sample_hand_reach_episodes(args.episodes, args.seed)] if args.task == HAND_REACH_TASK \
        else [*sample_task_episodes(args.task, args.episodes, args.seed)]
    policy = None if args.expert else PolicyUnderTest(args.policy, args.family)
    what = 'the scripted expert' if args.expert else str(args.policy)
    print(f'vla-ros eval: {what} on {args.task}, {args.episodes} episodes from seed '
          f'{args.seed}', flush=True)
    result = evaluate(config_path=Path(config_path), episodes=episodes,
                      timeout_s=args.episode_timeout, policy=policy,
                      on_episode=functools.partial(_show, args.episodes),
                      strategy=settings.strategy, horizon=args.horizon)
    summary = evaluation_report(result, settings)
    args.json.parent.mkdir(parents=True, exist_ok=True)
    args.json.write_text(json.dumps(summary, indent=2) + '\n')
    latency = summary['inference_latency_ms']
    interval = summary['success_interval_95']
    spread = '' if interval is None else f'; 95 % interval {interval[0]:.2f}-{interval[1]:.2f}'
    print(f'vla-ros eval: success rate {summary["success_rate"]:.2f} '
          f'({summary["successes"]}/{summary["episodes"]}{spread}), latency p50 '
          f'{latency["p50"]} ms, '
          f'max boundary jump {summary["max_boundary_jump_rad"]} rad, idle fraction '
          f'{summary["idle_fraction"]}; report {args.json.resolve()}')
    if result.real_time_factor is not None:
        print(f'vla-ros eval: real-time factor {result.real_time_factor:.2f} '
              f'({result.simulated_s:.1f} s simulated in {result.wall_s:.1f} s wall time)')
    return 0
