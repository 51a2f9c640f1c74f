# SPDX-License-Identifier: Apache-2.0
# Copyright 2026 The vla_ros authors
"""``plan_trajectory``'s vectorised prefix gives exactly what its step-by-step loop gives.

The reference below is the loop alone (the planner before issue 16's vectorised prefix,
without an acceleration bound); chunks are drawn smooth (the prefix covers them whole), with
a jump somewhere (the loop takes over there), across the position limits, under an enable
ramp, and of any finite values.
"""

from __future__ import annotations

from pathlib import Path

from hypothesis import given, settings
from hypothesis import strategies as st
import numpy as np
from numpy.testing import assert_array_equal
from numpy.typing import NDArray

from vla_ros.core.types import ActionChunk
from vla_ros.execution.chunk_planner import plan_trajectory
from vla_ros.execution.joint_limits import JointLimits, load_urdf_limits

URDF = Path(__file__).resolve().parents[2] / 'urdf' / 'tabletop_arm.urdf'
JOINTS = ('joint1', 'joint2', 'joint3', 'joint4', 'joint5', 'joint6', 'gripper_joint')
LIMITS = load_urdf_limits(URDF).subset(JOINTS)


def _loop_only(targets: NDArray[np.float64], measured: NDArray[np.float64],
               limits: JointLimits, max_delta: NDArray[np.float64],
               scales: NDArray[np.float64]) -> tuple[NDArray[np.float64], int]:
    clipped = np.clip(targets, limits.lower, limits.upper)
    corrections = int(np.count_nonzero(clipped != targets))
    positions = np.empty_like(clipped)
    previous = np.clip(measured, limits.lower, limits.upper)
    for step, target in enumerate(clipped):
        wanted = target - previous
        bound = max_delta * scales[step]
        delta = np.clip(wanted, -bound, bound)
        corrections += int(np.count_nonzero(delta != wanted))
        previous = np.clip(previous + delta, limits.lower, limits.upper)
        positions[step] = previous
    return positions, corrections


def _check(targets: NDArray[np.float64], measured: NDArray[np.float64], dt_s: float,
           max_step_rad: float, scales: NDArray[np.float64] | None) -> None:
    chunk = ActionChunk(JOINTS, targets, dt_s)
    planned = plan_trajectory(chunk, measured=measured, limits=LIMITS, max_step_rad=max_step_rad,
                              speed_scales=scales)
    max_delta = np.minimum(LIMITS.velocity * dt_s, max_step_rad)
    expected, corrections = _loop_only(targets, measured, LIMITS, max_delta,
                                       np.ones(len(targets)) if scales is None else scales)
    assert_array_equal(planned.command.positions, expected)
    assert planned.corrections == corrections


def _smooth(rng: np.random.Generator, steps: int, start: NDArray[np.float64],
            size: float) -> NDArray[np.float64]:
    return start + np.cumsum(rng.normal(0.0, size, (steps, len(JOINTS))), axis=0)


def test_smooth_chunks_jumps_and_limits_match_the_loop() -> None:
    rng = np.random.default_rng(0)
    middle = (LIMITS.lower + LIMITS.upper) / 2
    for trial in range(300):
        start = middle + rng.normal(0.0, 0.3, len(JOINTS))
        size = (0.002, 0.01, 0.05, 0.3)[trial % 4]  # small steps to ones the limits cut
        targets = _smooth(rng, int(rng.integers(1, 60)), start, size)
        if trial % 3 == 0:
            targets[rng.integers(0, len(targets)):] += rng.normal(0.0, 1.0, len(JOINTS))
        if trial % 5 == 0:
            targets[:, int(rng.integers(0, len(JOINTS)))] = LIMITS.upper[0] + 1.0
        scales = None if trial % 2 else np.clip(rng.uniform(0.0, 1.5, len(targets)), 0.0, 1.0)
        _check(targets, start + rng.normal(0.0, 0.01, len(JOINTS)), 0.1, 0.2, scales)


@settings(deadline=None)
@given(st.lists(st.floats(-10.0, 10.0), min_size=7, max_size=7 * 20).filter(
    lambda values: len(values) % 7 == 0), st.floats(1e-3, 1.0), st.floats(1e-3, 2.0))
def test_any_finite_chunk_matches_the_loop(values: list[float], dt_s: float,
                                           max_step_rad: float) -> None:
    targets = np.array(values).reshape(-1, len(JOINTS))
    _check(targets, (LIMITS.lower + LIMITS.upper) / 2, dt_s, max_step_rad, None)


def test_a_smooth_chunk_is_planned_without_the_loop() -> None:
    """The prefix covers a chunk within every bound whole (what makes the planner fast)."""
    from vla_ros.execution import chunk_planner

    start = (LIMITS.lower + LIMITS.upper) / 2
    targets = _smooth(np.random.default_rng(1), 50, start, 0.0005)
    positions = np.empty_like(targets)
    max_delta = np.minimum(LIMITS.velocity * 0.1, 0.2)
    covered = chunk_planner._within_limits(targets, start, max_delta, np.ones(50), LIMITS,
                                           positions)
    assert covered == 50
    targets[20] += 1.0
    assert chunk_planner._within_limits(targets, start, max_delta, np.ones(50), LIMITS,
                                        positions) == 20
