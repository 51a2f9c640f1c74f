# SPDX-License-Identifier: Apache-2.0
# Copyright 2026 The vla_ros authors
"""The JSON report of a closed-loop evaluation (``vla_ros.ros.evaluation``) for `vla-ros eval`.

``evaluation_report(run, settings)`` aggregates the episodes' records into::

    {"task", "mode" ('policy' | 'expert'), "checkpoint", "family", "strategy" and "horizon"
     (null: the config's), "seed", "episode_timeout_s", "episodes" (count), "successes",
     "success_rate", "success_interval_95" ([low, high], Wilson score; null without episodes),
     "mean_time_to_success_s" (over successful episodes; null if none),
     "inference_latency_ms": {"p50", "p95", "count"} (null values without samples),
     "max_boundary_jump_rad", "max_jerk" (rad/s^3), "idle_fraction",
     "per_episode": [{"index", "seed", "colour", "instruction", "success",
                      "time_to_success_s", "duration_s", "outcome", "failure_reason" (null
                      after a success; for lift 'cube never grasped', 'cube dropped', 'cube
                      not high enough' or 'another cube lifted'; for reach 'cube not
                      reached'), "max_cube_height_m" (the named cube's highest centre above
                      its rest height), "closest_m" (reaches: the reaching frame's smallest
                      distance to the named cube's top; null for other tasks),
                      "ended_nearest" (reaches: the colour of the cube nearest that frame at
                      the end), "off_target_m" (place: how far the cube's centre lay
                      outside the pad's square at the end; 0 over it),
                      "max_boundary_jump_rad", "max_jerk", "idle_fraction", "boundaries"},
                     ...]}

The interval says how far the rate of a few episodes can be from the policy's: 16/20 is
0.58-0.92, and two checkpoints whose intervals overlap widely were not told apart (on the
tabletop, per-seed outcomes do not repeat from run to run: ``docs/results.md``, "Lift").
Times are simulated seconds, rounded to milliseconds. The smoothness metrics are those of
``vla_ros.execution.smoothness`` on the arm joints: the largest jump and jerk over all
episodes, and the idle time over the summed episode time. No rclpy here: the records are
plain values.
"""

from __future__ import annotations

from dataclasses import dataclass
import math
from pathlib import Path
from typing import Any, TYPE_CHECKING

import numpy as np

from vla_ros.core.config import ExecutionStrategy

if TYPE_CHECKING:
    from vla_ros.execution.smoothness import SmoothnessMetrics
    from vla_ros.ros.evaluation import EpisodeRecord, EvaluationRun

__all__ = ['ReportSettings', 'evaluation_report']


@dataclass(frozen=True, slots=True)
class ReportSettings:
    """What was evaluated, as the report's header says it.

    Attributes:
        task: the task name (``vla-ros eval --task``).
        checkpoint: the checkpoint under test; None for the scripted expert.
        family: the policy family asked for (None: the config's).
        strategy: the execution strategy asked for (None: the config's).
        horizon: chunk steps per inference asked for (None: the config's).
        seed: the first episode's scene seed.
        episode_timeout_s: simulated seconds before an episode counts as failed.
    """

    task: str
    checkpoint: Path | None
    family: str | None
    strategy: ExecutionStrategy | None
    horizon: int | None
    seed: int
    episode_timeout_s: float


def _percentile(samples: tuple[float, ...], q: float) -> float | None:
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
            'closest_m': None if record.closest_m is None else round(record.closest_m, 4),
            'ended_nearest': None if record.ended_nearest is None
            else record.ended_nearest.value,
            'off_target_m': None if record.off_target_m is None
            else round(record.off_target_m, 4),
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


def wilson_interval(successes: int, trials: int, z: float = 1.959964) -> tuple[float, float]:
    """The Wilson score interval of a success rate, (low, high); z 1.96 is 95 %.

    Unlike the normal approximation it stays inside [0, 1] and is not empty at 0/n or n/n,
    the usual outcomes of a short evaluation.

    Raises:
        ValueError: ``trials`` < 1 or ``successes`` outside [0, trials].
    """
    if trials < 1 or not 0 <= successes <= trials:
        raise ValueError(f'{successes} successes of {trials} trials')
    rate = successes / trials
    shrink = 1.0 + z * z / trials
    centre = (rate + z * z / (2 * trials)) / shrink
    half = z * math.sqrt(rate * (1.0 - rate) / trials + z * z / (4 * trials * trials)) / shrink
    return max(0.0, centre - half), min(1.0, centre + half)


def evaluation_report(run: EvaluationRun, settings: ReportSettings) -> dict[str, Any]:
    """The JSON report of ``run`` (the layout of the module docstring)."""
    records = run.records
    times = [r.time_to_success_s for r in records if r.time_to_success_s is not None]
    successes = sum(record.success for record in records)
    smoothness = _smoothness([r.smoothness for r in records if r.smoothness is not None])
    del smoothness['boundaries']
    return {
        'task': settings.task, 'mode': 'expert' if settings.checkpoint is None else 'policy',
        'checkpoint': None if settings.checkpoint is None else str(settings.checkpoint),
        'family': settings.family,
        'strategy': None if settings.strategy is None else settings.strategy.value,
        'horizon': settings.horizon,
        'seed': settings.seed, 'episode_timeout_s': settings.episode_timeout_s,
        'episodes': len(records), 'successes': successes,
        'success_rate': successes / len(records) if records else 0.0,
        'success_interval_95': [round(bound, 3) for bound in
                                wilson_interval(successes, len(records))] if records else None,
        'mean_time_to_success_s': _seconds(sum(times) / len(times)) if times else None,
        'inference_latency_ms': {'p50': _percentile(run.latencies_ms, 50),
                                 'p95': _percentile(run.latencies_ms, 95),
                                 'count': len(run.latencies_ms)},
        **smoothness,
        'per_episode': [_record(record) for record in records],
    }
