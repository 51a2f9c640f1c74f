# SPDX-License-Identifier: Apache-2.0
# Copyright 2026 The vla_ros authors
"""`vla-ros eval`: closed-loop success rate of a checkpoint on a sim task, over ROS.

Starts the simulated arm and the policy node in this process and runs seeded episodes of the
task (see ``vla_ros.ros.evaluation``); ``--expert`` runs the scripted expert through the same
sim node and trajectory topics instead, which checks the harness itself. Writes a JSON report:

    {"task", "mode" ('policy' | 'expert'), "checkpoint", "family", "seed",
     "episode_timeout_s", "episodes" (count), "successes", "success_rate",
     "mean_time_to_success_s" (over successful episodes; null if none),
     "inference_latency_ms": {"p50", "p95", "count"} (null values without samples),
     "per_episode": [{"index", "seed", "colour", "instruction", "success",
                      "time_to_success_s", "duration_s", "outcome"}, ...]}

Times are simulated seconds (the sim runs in real time).
"""

from __future__ import annotations

import argparse
import json
from pathlib import Path
from typing import Any, TYPE_CHECKING

from vla_ros.cli.config_path import add_config_argument, default_config_path
from vla_ros.core.errors import ConfigError

if TYPE_CHECKING:
    from vla_ros.ros.evaluation import EpisodeRecord, EvaluationRun

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
    parser.add_argument('--task', choices=('reach', 'lift'), required=True)
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
            'duration_s': _seconds(record.duration_s), 'outcome': record.outcome}


def report(run: EvaluationRun, args: argparse.Namespace) -> dict[str, Any]:
    """The JSON report of ``run`` (the layout of the module docstring)."""
    records = run.records
    times = [r.time_to_success_s for r in records if r.time_to_success_s is not None]
    successes = sum(record.success for record in records)
    return {
        'task': args.task, 'mode': 'expert' if args.expert else 'policy',
        'checkpoint': None if args.expert else str(args.policy), 'family': args.family,
        'seed': args.seed, 'episode_timeout_s': args.episode_timeout,
        'episodes': len(records), 'successes': successes,
        'success_rate': successes / len(records) if records else 0.0,
        'mean_time_to_success_s': _seconds(sum(times) / len(times)) if times else None,
        'inference_latency_ms': {'p50': _percentile(run.latencies_ms, 50),
                                 'p95': _percentile(run.latencies_ms, 95),
                                 'count': len(run.latencies_ms)},
        'per_episode': [_record(record) for record in records],
    }


def run(args: argparse.Namespace) -> int:
    """Run the evaluation and write the report; exit 0 when it ran to the end."""
    from vla_ros.ros.evaluation import evaluate, PolicyUnderTest
    from vla_ros.sim.tasks import sample_episodes, TaskKind

    if args.episodes < 1 or args.seed < 0 or not args.episode_timeout > 0.0:
        raise ConfigError(f'--episodes {args.episodes} --seed {args.seed} --episode-timeout '
                          f'{args.episode_timeout}: expected >= 1, >= 0 and > 0')
    if args.expert and args.family:
        raise ConfigError('--family applies to --policy, not to --expert')
    config_path = args.config or default_config_path()
    episodes = sample_episodes(TaskKind(args.task), args.episodes, args.seed)
    policy = None if args.expert else PolicyUnderTest(args.policy, args.family)
    what = 'the scripted expert' if args.expert else str(args.policy)
    print(f'vla-ros eval: {what} on {args.task}, {args.episodes} episodes from seed '
          f'{args.seed}', flush=True)

    def show(record: EpisodeRecord) -> None:
        took = 'timeout' if record.time_to_success_s is None \
            else f'{record.time_to_success_s:.1f} s'
        print(f'  episode {record.index + 1}/{args.episodes} seed {record.episode.seed} '
              f'"{record.episode.instruction}": {"success" if record.success else "failure"} '
              f'({took})', flush=True)

    result = evaluate(config_path=Path(config_path), episodes=episodes,
                      timeout_s=args.episode_timeout, policy=policy, on_episode=show)
    summary = report(result, args)
    args.json.parent.mkdir(parents=True, exist_ok=True)
    args.json.write_text(json.dumps(summary, indent=2) + '\n')
    latency = summary['inference_latency_ms']
    print(f'vla-ros eval: success rate {summary["success_rate"]:.2f} '
          f'({summary["successes"]}/{summary["episodes"]}), latency p50 {latency["p50"]} ms; '
          f'report {args.json.resolve()}')
    return 0
