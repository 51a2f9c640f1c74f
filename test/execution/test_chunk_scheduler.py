# SPDX-License-Identifier: Apache-2.0
# Copyright 2026 The vla_ros authors
"""Chunk scheduling: when each strategy infers, and exactly which points it sends.

One joint (the tabletop arm's joint1: +-2.9 rad, 2 rad/s, so 0.2 rad per 0.1 s step) and
explicit times on the scheduler's clock, so every expected point is computed by hand.
"""

from __future__ import annotations

import math
from pathlib import Path
from typing import Any

import numpy as np
from numpy.testing import assert_allclose
import pytest

from vla_ros.core.config import ExecutionConfig, ExecutionStrategy, SafetyConfig
from vla_ros.core.types import ActionChunk
from vla_ros.execution.chunk_scheduler import ChunkScheduler, MergeInput
from vla_ros.execution.joint_limits import load_urdf_limits

URDF = Path(__file__).resolve().parents[2] / 'urdf' / 'tabletop_arm.urdf'
JOINT = ('joint1',)
LIMITS = load_urdf_limits(URDF).subset(JOINT)
DT_S = 0.1
SAFETY = SafetyConfig(max_step_rad=0.5)


def make_scheduler(strategy: ExecutionStrategy, *, chunk_steps: int, **execution: Any
                   ) -> ChunkScheduler:
    config = ExecutionConfig(strategy=strategy, **execution)
    return ChunkScheduler(execution=config, chunk_steps=chunk_steps, dt_s=DT_S, limits=LIMITS,
                          safety=SAFETY)


def chunk(values: list[float]) -> ActionChunk:
    return ActionChunk(JOINT, np.array(values)[:, np.newaxis], dt_s=DT_S)


def merge(scheduler: ChunkScheduler, values: list[float], *, observed_s: float, now_s: float,
          measured: float = 0.0) -> tuple[list[float], list[float]]:
    """Merge a chunk; returns the sent (times_from_start_s, positions) of joint1."""
    prefix = scheduler.prefix(observed_s)
    planned = scheduler.merge(MergeInput(chunk(values), observed_s=observed_s, now_s=now_s,
                                         measured=np.array([measured]), prefix=prefix))
    assert planned is not None
    command = planned.command
    assert command.velocities is not None and command.velocities[-1, 0] == 0.0
    return list(command.times_from_start_s), list(command.positions[:, 0])


def test_sync_sends_the_first_horizon_steps_from_the_measured_position_then_waits() -> None:
    scheduler = make_scheduler(ExecutionStrategy.SYNC, chunk_steps=5, horizon=3)
    assert scheduler.next_inference_s(7.0) == 7.0  # nothing planned: infer now

    times, positions = merge(scheduler, [0.1, 0.2, 0.3, 0.4, 0.5], observed_s=9.7, now_s=10.0)

    assert_allclose(times, [0.1, 0.2, 0.3])  # starts when sent, whatever the latency
    assert_allclose(positions, [0.1, 0.2, 0.3])
    assert scheduler.next_inference_s(10.0) == pytest.approx(10.3)  # once all three ran


def test_async_infers_below_the_threshold_drops_passed_steps_and_replaces_the_rest() -> None:
    scheduler = make_scheduler(ExecutionStrategy.ASYNC, chunk_steps=6, async_threshold_steps=2)
    merge(scheduler, [0.1, 0.2, 0.3, 0.4, 0.5, 0.6], observed_s=0.0, now_s=0.0)
    # Rows at 0.1 .. 0.6 s; fewer than 2 remain from 0.5 s on.
    assert scheduler.next_inference_s(0.0) == pytest.approx(0.5)

    times, positions = merge(scheduler, [0.5, 0.55, 0.6, 0.65, 0.7, 0.75],
                             observed_s=0.5, now_s=0.55)

    # Row k is due at 0.5 + (k + 1) 0.1 s: all are still ahead, the old 0.6 rad at 0.6 s is
    # replaced by the new 0.5 rad (async does not care for continuity).
    assert_allclose(times, [0.05, 0.15, 0.25, 0.35, 0.45, 0.55])
    assert_allclose(positions, [0.5, 0.55, 0.6, 0.65, 0.7, 0.75])


def test_ensemble_averages_each_steps_predictions_with_act_weights() -> None:
    scheduler = make_scheduler(ExecutionStrategy.ENSEMBLE, chunk_steps=4, horizon=2,
                               ensemble_decay=0.5)
    merge(scheduler, [0.2] * 4, observed_s=0.0, now_s=0.0)  # steps at 0.1 .. 0.4 s
    assert scheduler.next_inference_s(0.0) == pytest.approx(0.2)  # every 2 steps

    times, positions = merge(scheduler, [0.4] * 4, observed_s=0.2, now_s=0.25)

    # Steps at 0.3 and 0.4 s have an older prediction (0.2, weight 1) and this one
    # (0.4, weight exp(-0.5)); 0.5 and 0.6 s only this one.
    both = (0.2 + math.exp(-0.5) * 0.4) / (1.0 + math.exp(-0.5))
    assert_allclose(times, [0.05, 0.15, 0.25, 0.35])
    assert_allclose(positions, [both, both, 0.4, 0.4])


def test_rtc_fixes_the_steps_run_during_inference_and_blends_the_overlap() -> None:
    scheduler = make_scheduler(ExecutionStrategy.RTC, chunk_steps=6, horizon=2)
    merge(scheduler, [0.1, 0.2, 0.3, 0.4, 0.5, 0.6], observed_s=0.0, now_s=0.0)
    assert scheduler.next_inference_s(0.0) == pytest.approx(0.2)  # s = 2 steps
    prefix = scheduler.prefix(0.2)
    assert prefix is not None
    # The plan at the new chunk's steps (0.3 .. 0.8 s), held after its end at 0.6 s; no
    # latency measured yet, so d = 0 and the weights fall over the 4 overlapping steps.
    assert_allclose(prefix.actions[:, 0], [0.3, 0.4, 0.5, 0.6, 0.6, 0.6])
    assert prefix.prefix_steps == 0
    assert_allclose(prefix.weights, [0.8, 0.6, 0.4, 0.2, 0.0, 0.0])

    times, positions = merge(scheduler, [1.0] * 6, observed_s=0.2, now_s=0.43)

    # The inference took longer than d: steps up to the first one sent (0.5 s, k = 2) ran
    # meanwhile and are fixed; k = 3 is half old plan (0.6), half chunk (1.0); then the
    # chunk, within 0.2 rad per step from 0.4 rad at 0.4 s.
    assert_allclose(times, [0.07, 0.17, 0.27, 0.37])
    assert_allclose(positions, [0.5, 0.7, 0.9, 1.0])


def test_rtc_first_point_continues_the_plan_when_the_latency_is_as_estimated() -> None:
    scheduler = make_scheduler(ExecutionStrategy.RTC, chunk_steps=8, horizon=4)
    merge(scheduler, [0.05 * k for k in range(1, 9)], observed_s=0.0, now_s=0.0)
    rng = np.random.default_rng(3)
    now_s = 0.0
    for _ in range(4):
        observed_s = scheduler.next_inference_s(now_s)
        now_s = observed_s + 0.25
        timeline = scheduler.timeline
        assert timeline is not None
        times, positions = merge(scheduler, list(rng.uniform(-1.0, 1.0, 8)),
                                 observed_s=observed_s, now_s=now_s)
        first_s = now_s + times[0]
        assert positions[0] == pytest.approx(timeline.sample(np.array([first_s]))[0, 0])
    assert scheduler.delay_steps == 3  # ceil(0.25 s / 0.1 s)


@pytest.mark.parametrize(('latency_s', 'horizon', 'expected_steps'), [
    (0.0, 2, 2),
    (0.25, 2, 3),   # s >= d = 3
    (0.25, 6, 5),   # s <= H - d = 5
    (0.75, 1, 4),   # d capped at H // 2 = 4, then s = 4
], ids=['as-configured', 'raised-to-d', 'lowered-to-h-minus-d', 'd-capped'])
def test_rtc_execution_horizon_stays_within_d_and_h_minus_d(
        latency_s: float, horizon: int, expected_steps: int) -> None:
    scheduler = make_scheduler(ExecutionStrategy.RTC, chunk_steps=8, horizon=horizon)
    merge(scheduler, [0.1] * 8, observed_s=0.0, now_s=latency_s)

    assert scheduler.execution_steps() == expected_steps
    assert scheduler.next_inference_s(0.0) == pytest.approx(latency_s + expected_steps * DT_S)


@pytest.mark.parametrize('strategy', list(ExecutionStrategy), ids=lambda s: s.value)
def test_after_a_reset_the_next_chunk_starts_from_the_measured_position_when_sent(
        strategy: ExecutionStrategy) -> None:
    scheduler = make_scheduler(strategy, chunk_steps=3)
    merge(scheduler, [0.1, 0.2, 0.3], observed_s=0.0, now_s=0.0)
    scheduler.reset()
    assert scheduler.timeline is None

    times, positions = merge(scheduler, [1.5, 1.5, 1.5], observed_s=4.0, now_s=4.3,
                             measured=1.0)

    assert_allclose(times, [0.1, 0.2, 0.3])
    assert_allclose(positions, [1.2, 1.4, 1.5])  # 0.2 rad steps from 1.0 rad


def test_plan_that_ran_out_restarts_from_its_last_point_at_rest() -> None:
    scheduler = make_scheduler(ExecutionStrategy.ASYNC, chunk_steps=2)
    merge(scheduler, [0.3, 0.6], observed_s=0.0, now_s=0.0)

    times, positions = merge(scheduler, [0.6, 1.2], observed_s=0.1, now_s=0.9, measured=0.55)

    assert_allclose(times, [0.1, 0.2])
    assert_allclose(positions, [0.6, 0.8])  # from the last commanded 0.4 rad, not the measured


def test_chunk_whose_steps_all_passed_is_dropped() -> None:
    scheduler = make_scheduler(ExecutionStrategy.ENSEMBLE, chunk_steps=10)
    merge(scheduler, [0.1] * 10, observed_s=0.0, now_s=0.0)

    late = scheduler.merge(MergeInput(chunk([0.9] * 2), observed_s=0.0, now_s=0.5,
                                      measured=np.array([0.0])))

    assert late is None
    timeline = scheduler.timeline
    assert timeline is not None and timeline.end_s == pytest.approx(1.0)  # plan unchanged
