# SPDX-License-Identifier: Apache-2.0
# Copyright 2026 The vla_ros authors
"""Chunk scheduling: when the next inference starts, and how its chunk joins the command stream.

The scheduler owns the planned command stream (an ``ActionTimeline`` on a fixed time grid) and
implements the strategies of ``ExecutionStrategy``:

- SYNC (openpi's behaviour): each chunk starts from the measured position when it arrives;
  its first ``horizon`` steps run, then the next inference starts. The robot waits during
  inference.
- ASYNC: the next inference starts while the plan runs, when fewer than
  ``async_threshold_steps`` steps remain. Row k of a chunk is due at its observation time
  plus (k + 1) dt; rows whose time has passed are dropped, the rest replaces the plan.
- ENSEMBLE: inference every ``horizon`` steps; each grid step's target is ACT's
  exponentially weighted mean of every chunk's prediction for it.
- RTC: inference every s steps; the first d steps of the new chunk (d: the estimated delay)
  are fixed to the running plan and the overlap after them is pulled towards it, by the
  policy's guided sampling or by a blend (``vla_ros.execution.rtc``).

Every chunk then goes through ``plan_trajectory`` (URDF limits, step limit, acceleration limit
and enable ramp), continuing from the planned position and speed at the splice, and the rows
after "now" become the trajectory to send. Times are on the caller's clock, seconds. Not
thread-safe: the runner calls it under its lock. numpy only.
"""

from __future__ import annotations

from collections import deque
from dataclasses import dataclass, replace

import numpy as np
from numpy.typing import NDArray

from vla_ros.core.config import ExecutionConfig, ExecutionStrategy, SafetyConfig
from vla_ros.core.types import ActionChunk
from vla_ros.execution.action_timeline import ActionTimeline, TIME_EPS_S
from vla_ros.execution.chunk_planner import plan_trajectory, PlannedTrajectory, ramp_scales
from vla_ros.execution.joint_limits import JointLimits
from vla_ros.execution.rtc import (
    blend_with_prefix,
    estimate_delay_steps,
    rtc_bounds,
    RtcPrefix,
    soft_mask_weights,
)
from vla_ros.execution.temporal_ensemble import TemporalEnsembler

__all__ = ['ChunkScheduler', 'MergeInput']

#: Smallest time between sending a trajectory and its first point, seconds.
LEAD_S = 0.005


@dataclass(frozen=True, slots=True)
class MergeInput:
    """A chunk just inferred, and the circumstances of its inference.

    Attributes:
        chunk: the policy's output, absolute joint positions.
        observed_s: when its observation was taken; row k is due at observed_s + (k + 1) dt.
        now_s: the current time, when the trajectory will be sent.
        measured: (J,) measured positions of the observation, rad.
        prefix: the RTC prefix the inference was given, or None.
        guided: whether the policy itself followed ``prefix`` (guided sampling).
    """

    chunk: ActionChunk
    observed_s: float
    now_s: float
    measured: NDArray[np.float64]
    prefix: RtcPrefix | None = None
    guided: bool = False


class ChunkScheduler:
    """Plans the command stream of one policy under one strategy.

    Args:
        execution: the strategy and its settings.
        chunk_steps: the policy's chunk length H.
        dt_s: the policy's time step, seconds.
        limits: limits of the policy's joints, in the chunk's column order.
        safety: step limit, acceleration limit and enable ramp.
    """

    def __init__(self, *, execution: ExecutionConfig, chunk_steps: int, dt_s: float,
                 limits: JointLimits, safety: SafetyConfig) -> None:
        self._strategy = execution.strategy
        self._chunk_steps = chunk_steps
        self._dt_s = dt_s
        default = chunk_steps if execution.strategy is ExecutionStrategy.SYNC else max(
            chunk_steps // 2, 1)
        self._horizon = min(execution.horizon or default, chunk_steps)
        self._threshold = execution.async_threshold_steps or max(chunk_steps - self._horizon, 1)
        self._limits = limits
        self._safety = safety
        self._latencies_s: deque[float] = deque(maxlen=execution.latency_window)
        self._ensembler = TemporalEnsembler(execution.ensemble_decay)
        self._timeline: ActionTimeline | None = None
        self._grid_origin_s = 0.0  # time of grid step 0 (ensemble keys)
        self._chunk_origin_s = 0.0  # the current chunk's step k is due at this + (k + 1) dt
        self._enabled_s = 0.0  # when motion last started from a hold (enable ramp)

    @property
    def strategy(self) -> ExecutionStrategy:
        """The strategy in force."""
        return self._strategy

    @property
    def timeline(self) -> ActionTimeline | None:
        """The planned command stream; None after a hold."""
        return self._timeline

    @property
    def delay_steps(self) -> int:
        """d: the largest recent latency (observation to merge), in steps; 0 before any."""
        return estimate_delay_steps(self._latencies_s, self._dt_s)

    def execution_steps(self) -> int:
        """Steps of a chunk that run before the next inference (RTC: s within the bounds)."""
        if self._strategy is ExecutionStrategy.RTC:
            return rtc_bounds(self.delay_steps, self._horizon, self._chunk_steps)[1]
        return self._horizon

    def reset(self) -> None:
        """Forget the plan (a hold); the next chunk starts from the measured position."""
        self._timeline = None
        self._ensembler.clear()

    def delay(self, delay_s: float) -> None:
        """The trajectory just sent was re-timed ``delay_s`` later (``reachable_from``).

        The plan moves with it, so that the next inference (sync: the plan's end), the
        commanded position and later merges follow what the controller actually runs; a
        plan left on the old times would start the next chunk before this one ends and
        cut off its last ``delay_s`` seconds.
        """
        timeline = self._timeline
        if timeline is None or not delay_s > 0.0:
            return
        self._timeline = replace(timeline, start_s=timeline.start_s + delay_s)
        self._grid_origin_s += delay_s
        self._chunk_origin_s += delay_s

    def next_inference_s(self, now_s: float) -> float:
        """When the next inference should start (may be in the past: start now)."""
        timeline = self._timeline
        if timeline is None:
            return now_s
        if self._strategy is ExecutionStrategy.SYNC:
            return timeline.end_s
        if self._strategy is ExecutionStrategy.ASYNC:
            return timeline.time_of(timeline.rows - self._threshold)
        return self._chunk_origin_s + self.execution_steps() * timeline.dt_s

    def prefix(self, observed_s: float) -> RtcPrefix | None:
        """RTC only: the running plan at the next chunk's steps, for an inference starting now.

        None for other strategies, and when no plan is running at ``observed_s``.
        """
        timeline = self._timeline
        if self._strategy is not ExecutionStrategy.RTC or timeline is None or (
                timeline.end_s <= observed_s):
            return None
        steps = self._chunk_steps
        times_s = observed_s + timeline.dt_s * np.arange(1, steps + 1, dtype=np.float64)
        overlap = int(np.count_nonzero(times_s <= timeline.end_s + TIME_EPS_S))
        delay = min(rtc_bounds(self.delay_steps, self._horizon, steps)[0], overlap)
        return RtcPrefix(timeline.sample(times_s), delay,
                         soft_mask_weights(delay, overlap, steps))

    def merge(self, merge: MergeInput) -> PlannedTrajectory | None:
        """Join a new chunk to the plan; returns the trajectory to send now (None: nothing).

        The chunk is dropped (None) when all of its steps are already in the past.
        """
        self._latencies_s.append(max(merge.now_s - merge.observed_s, 0.0))
        timeline = self._timeline
        if timeline is None or self._strategy is ExecutionStrategy.SYNC:
            return self._start(merge, anchor=merge.measured)
        if timeline.end_s <= merge.now_s + LEAD_S:  # the plan ran out: idle, start afresh
            return self._start(merge, anchor=timeline.positions[-1])
        return self._continue(merge, timeline)

    def _start(self, merge: MergeInput, *, anchor: NDArray[np.float64]
               ) -> PlannedTrajectory | None:
        """A chunk that starts now from ``anchor`` (at rest), as synchronous execution does."""
        chunk, now_s = merge.chunk, merge.now_s
        if self._timeline is None:
            self._enabled_s = now_s
        targets = chunk.positions[:self._horizon] if (
            self._strategy is ExecutionStrategy.SYNC) else chunk.positions
        step_times_s = now_s + chunk.dt_s * np.arange(1, len(targets) + 1, dtype=np.float64)
        planned = self._plan(chunk, targets, step_times_s, anchor, None)
        self._timeline = ActionTimeline(chunk.joint_names, now_s, chunk.dt_s,
                                        np.vstack([anchor, planned.command.positions]))
        self._grid_origin_s = self._chunk_origin_s = now_s
        self._ensembler.clear()
        if self._strategy is ExecutionStrategy.ENSEMBLE:
            self._ensembler.add(np.arange(1, len(targets) + 1), targets)
        if self._strategy is ExecutionStrategy.SYNC:
            return planned
        command = self._timeline.trajectory_after(now_s)
        return None if command is None else PlannedTrajectory(command, planned.corrections)

    def _continue(self, merge: MergeInput, timeline: ActionTimeline
                  ) -> PlannedTrajectory | None:
        """Merge a chunk into the running plan from the first row after now on."""
        dt_s = timeline.dt_s
        splice = timeline.first_index_after(merge.now_s + LEAD_S)
        # Chunk steps up to the first one sent run before or while the trajectory arrives.
        delay = int(np.rint((timeline.time_of(splice) - merge.observed_s) / dt_s))
        positions = self._rtc_adjusted(merge, delay)
        chunk_start_s = merge.observed_s + dt_s
        last_s = merge.observed_s + dt_s * len(positions)
        count = int(np.floor((last_s - timeline.time_of(splice)) / dt_s + TIME_EPS_S)) + 1
        if count < 1:
            return None
        grid_s = timeline.time_of(splice) + dt_s * np.arange(count, dtype=np.float64)
        chunk_plan = ActionTimeline(merge.chunk.joint_names, chunk_start_s, dt_s, positions)
        covered = grid_s >= chunk_start_s - 0.5 * dt_s  # the nearest grid row counts
        targets = np.where(covered[:, np.newaxis], chunk_plan.sample(grid_s),
                           timeline.sample(grid_s))
        if self._strategy is ExecutionStrategy.ENSEMBLE:
            keys = np.rint((grid_s - self._grid_origin_s) / dt_s).astype(np.int64)
            targets[covered] = self._ensembler.add(keys[covered], targets[covered])
            self._ensembler.forget_before(int(keys[0]))
        planned = self._plan(merge.chunk, targets, grid_s, timeline.positions[splice - 1],
                             timeline.velocity_at(splice - 1))
        self._timeline = timeline.spliced(splice, planned.command.positions).trimmed(
            merge.now_s)
        self._chunk_origin_s = merge.observed_s
        command = self._timeline.trajectory_after(merge.now_s, lead_s=LEAD_S)
        return None if command is None else PlannedTrajectory(command, planned.corrections)

    def _rtc_adjusted(self, merge: MergeInput, delay_steps: int) -> NDArray[np.float64]:
        """The chunk's rows with RTC's prefix fixed and, without guidance, blended in.

        ``delay_steps`` is the delay that happened: when it exceeds the estimate the prefix
        was made for, the chunk is blended again with a mask over the real delay, so that
        the steps executed meanwhile stay fixed (what the paper guards against by dropping
        such chunks).
        """
        prefix = merge.prefix
        positions = merge.chunk.positions
        if self._strategy is not ExecutionStrategy.RTC or prefix is None or (
                prefix.actions.shape != positions.shape):
            return positions
        if delay_steps > prefix.prefix_steps:
            overlap = int(np.count_nonzero(prefix.weights > 0.0))
            steps = min(delay_steps, len(positions))
            prefix = RtcPrefix(prefix.actions, steps,
                               soft_mask_weights(steps, overlap, len(positions)))
        elif merge.guided:
            fixed = positions.copy()
            fixed[:prefix.prefix_steps] = prefix.actions[:prefix.prefix_steps]
            return fixed
        return blend_with_prefix(positions, prefix)

    def _plan(self, chunk: ActionChunk, targets: NDArray[np.float64],
              step_times_s: NDArray[np.float64], anchor: NDArray[np.float64],
              velocity: NDArray[np.float64] | None) -> PlannedTrajectory:
        """``targets`` (due at ``step_times_s``) within the limits, continuing from ``anchor``."""
        return plan_trajectory(
            ActionChunk(chunk.joint_names, targets, chunk.dt_s), measured=anchor,
            limits=self._limits, max_step_rad=self._safety.max_step_rad,
            max_acceleration_rad_s2=self._safety.max_acceleration_rad_s2,
            start_velocity=velocity,
            speed_scales=ramp_scales(step_times_s - self._enabled_s, self._safety.enable_ramp_s))
