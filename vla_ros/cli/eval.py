# SPDX-License-Identifier: Apache-2.0
# Copyright 2026 The vla_ros authors
"""`vla-ros eval`: closed-loop success rate of a checkpoint on a sim task, over ROS.

Starts the simulated arm and the policy node in this process and runs seeded episodes of the
task (see ``vla_ros.ros.evaluation``); ``--expert`` runs the scripted expert through the same
sim node and trajectory topics instead, which checks the harness itself. Writes a JSON report:

    {"task", "mode" ('policy' | 'expert'), "checkpoint", "family", "strategy" and "horizon"
     (null: the config's), "seed", "episode_timeout_s", "episodes" (count), "successes",
     "success_rate",
     "mean_time_to_success_s" (over successful episodes; null if none),
     "inference_latency_ms": {"p50", "p95", "count"} (null values without samples),
     "max_boundary_jump_rad", "max_jerk" (rad/s^3), "idle_fraction",
     "per_episode": [{"index", "seed", "colour", "instruction", "success",
                      "time_to_success_s", "duration_s", "outcome", "failure_reason" (null
                      after a success; for lift 'cube never grasped', 'cube dropped', 'cube
                      not high enough' or 'another cube lifted'; for reach 'cube not
                      reached'), "max_cube_height_m" (the named cube's highest centre above
                      its rest height), "max_boundary_jump_rad", "max_jerk", "idle_fraction",
                      "boundaries"}, ...]}

Times are simulated seconds (the sim runs in real time). The smoothness metrics are those of
``vla_ros.execution.smoothness`` on the arm joints: the largest jump and jerk over all
episodes, and the idle time over the summed episode time.
"""

from __future__ import annotations

import argparse
import json
from pathlib import Path
from typing import Any, TYPE_CHECKING

from vla_ros.cli.config_path import add_config_argument, default_config_path
from vla_ros.core.config import ExecutionStrategy
from vla_ros.core.errors import ConfigError

if TYPE_CHECKING:
    from vla_ros.execution.smoothness import SmoothnessMetrics
    from vla_ros.ros.evaluation import EpisodeRecord, EvaluatedEpisode, EvaluationRun

__all__ = ['add_arguments', 'report', 'run']


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
    parser.add_argument('--task', choices=('reach', 'lift', 'side_reach', 'handover',
                                           'hand_reach'),
                        required=True, help='reach, lift: the tabletop arm; side_reach, '
                        'handover: the ALOHA rig (vla_ros.sim.bimanual_tasks); hand_reach: the '
                        'humanoid (vla_ros.sim.humanoid_tasks)')
    parser.add_argument('--episodes', type=int, default=10, help='how many episodes')
    parser.add_argument('--seed', type=int, default=1000,
                        help='scene seed of the first episode; episode i uses seed + i')
    parser.add_argument('--episode-timeout', type=float, default=15.0, metavar='S',
                        help='simulated seconds before an episode counts as failed')
    parser.add_argument('--json', type=Path, required=True, metavar='PATH',
                        help='where to write the report')


def _percentile(samples: tuple[float, ...], q: float) -> float | None:
    import numpy as np

    return round(float(np.percentile(samples, q)), 3) if samples else None


def _seconds(value: float | None) -> float | None:
    """Round to the sim's time step scale; JSON readers need no float noise."""
    return None if value is None else round(value, 3)


def _record(record: EpisodeRecord) -> dict[str, Any]:
    return {'index': record.index, 'seed': record.episode.seed,
            'colour': record.episode.colour.value, 'instruction': record.episode.instruction,
            'success': record.success, 'time_to_success_s': _seconds(record.time_to_success_s),
            'duration_s': _seconds(record.duration_s), 'outcome': record.outcome,
            'failure_reason': None if record.failure_reason is None
            else record.failure_reason.value,
            'max_cube_height_m': None if record.max_cube_height_m is None
            else round(record.max_cube_height_m, 4),
            **_smoothness(None if record.smoothness is None else [record.smoothness])}


def _smoothness(metrics: list[SmoothnessMetrics] | None) -> dict[str, Any]:
    """The smoothness keys: largest jump and jerk, idle time over total time."""
    if not metrics:
        return {'max_boundary_jump_rad': None, 'max_jerk': None, 'idle_fraction': None,
                'boundaries': 0}
    window_s = sum(m.window_s for m in metrics)
    return {'max_boundary_jump_rad': round(max(m.max_boundary_jump_rad for m in metrics), 6),
            'max_jerk': round(max(m.max_jerk_rad_s3 for m in metrics), 3),
            'idle_fraction': round(sum(m.idle_s for m in metrics) / window_s, 4)
            if window_s > 0.0 else 0.0,
            'boundaries': sum(m.boundaries for m in metrics)}


def report(run: EvaluationRun, args: argparse.Namespace) -> dict[str, Any]:
    """The JSON report of ``run`` (the layout of the module docstring)."""
    records = run.records
    times = [r.time_to_success_s for r in records if r.time_to_success_s is not None]
    successes = sum(record.success for record in records)
    smoothness = _smoothness([r.smoothness for r in records if r.smoothness is not None])
    del smoothness['boundaries']
    return {
        'task': args.task, 'mode': 'expert' if args.expert else 'policy',
        'checkpoint': None if args.expert else str(args.policy), 'family': args.family,
        'strategy': args.strategy, 'horizon': args.horizon,
        'seed': args.seed, 'episode_timeout_s': args.episode_timeout,
        'episodes': len(records), 'successes': successes,
        'success_rate': successes / len(records) if records else 0.0,
        'mean_time_to_success_s': _seconds(sum(times) / len(times)) if times else None,
        'inference_latency_ms': {'p50': _percentile(run.latencies_ms, 50),
                                 'p95': _percentile(run.latencies_ms, 95),
                                 'count': len(run.latencies_ms)},
        **smoothness,
        'per_episode': [_record(record) for record in records],
    }


def run(args: argparse.Namespace) -> int:
    """Run the evaluation and write the report; exit 0 when it ran to the end."""
    from vla_ros.ros.evaluation import evaluate, PolicyUnderTest
    from vla_ros.sim.bimanual_tasks import sample_task_episodes
    from vla_ros.sim.humanoid_tasks import HAND_REACH_TASK, sample_hand_reach_episodes

    if args.episodes < 1 or args.seed < 0 or not args.episode_timeout > 0.0:
        raise ConfigError(f'--episodes {args.episodes} --seed {args.seed} --episode-timeout '
                          f'{args.episode_timeout}: expected >= 1, >= 0 and > 0')
    if args.expert and (args.family or args.strategy or args.horizon is not None):
        raise ConfigError('--family, --strategy and --horizon apply to --policy, not to '
                          '--expert')
    if args.horizon is not None and args.horizon < 1:
        raise ConfigError(f'--horizon {args.horizon}: expected an integer >= 1')
    config_path = args.config or default_config_path()
    episodes: list[EvaluatedEpisode] = [
        *sample_hand_reach_episodes(args.episodes, args.seed)] if args.task == HAND_REACH_TASK \
        else [*sample_task_episodes(args.task, args.episodes, args.seed)]
    policy = None if args.expert else PolicyUnderTest(args.policy, args.family)
    what = 'the scripted expert' if args.expert else str(args.policy)
    print(f'vla-ros eval: {what} on {args.task}, {args.episodes} episodes from seed '
          f'{args.seed}', flush=True)

    def show(record: EpisodeRecord) -> None:
        took = 'timeout' if record.time_to_success_s is None \
            else f'{record.time_to_success_s:.1f} s'
        if record.failure_reason is not None:
            took += f', {record.failure_reason.value}'
        print(f'  episode {record.index + 1}/{args.episodes} seed {record.episode.seed} '
              f'"{record.episode.instruction}": {"success" if record.success else "failure"} '
              f'({took})', flush=True)

    strategy = None if args.strategy is None else ExecutionStrategy(args.strategy)
    result = evaluate(config_path=Path(config_path), episodes=episodes,
                      timeout_s=args.episode_timeout, policy=policy, on_episode=show,
                      strategy=strategy, horizon=args.horizon)
    summary = report(result, args)
    args.json.parent.mkdir(parents=True, exist_ok=True)
    args.json.write_text(json.dumps(summary, indent=2) + '\n')
    latency = summary['inference_latency_ms']
    print(f'vla-ros eval: success rate {summary["success_rate"]:.2f} '
          f'({summary["successes"]}/{summary["episodes"]}), latency p50 {latency["p50"]} ms, '
          f'max boundary jump {summary["max_boundary_jump_rad"]} rad, idle fraction '
          f'{summary["idle_fraction"]}; report {args.json.resolve()}')
    if result.real_time_factor is not None:
        print(f'vla-ros eval: real-time factor {result.real_time_factor:.2f} '
              f'({result.simulated_s:.1f} s simulated in {result.wall_s:.1f} s wall time)')
    return 0
