# SPDX-License-Identifier: Apache-2.0
# Copyright 2026 The vla_ros authors
"""Acceleration limit and enable ramp of the chunk planner: properties and hand-made cases."""

from __future__ import annotations

from pathlib import Path

from hypothesis import given, settings
from hypothesis import strategies as st
from hypothesis.extra.numpy import arrays
import numpy as np
from numpy.testing import assert_allclose
from numpy.typing import NDArray
import pytest

from vla_ros.core.config import SafetyConfig
from vla_ros.core.errors import ConfigError
from vla_ros.core.types import ActionChunk
from vla_ros.execution.chunk_planner import plan_trajectory, ramp_scales
from vla_ros.execution.joint_limits import load_urdf_limits

URDF = Path(__file__).resolve().parents[2] / 'urdf' / 'tabletop_arm.urdf'
ARM = ('joint1', 'joint2', 'joint3', 'joint4', 'joint5', 'joint6')
LIMITS = load_urdf_limits(URDF).subset(ARM)
JOINT1 = LIMITS.subset(['joint1'])
TOLERANCE = 1e-9


@settings(deadline=None, max_examples=60)
@given(targets=arrays(np.float64, (12, len(ARM)), elements=st.floats(-3.0, 3.0)),
       accel_rad_s2=st.floats(0.5, 50.0), dt_s=st.floats(0.02, 0.2),
       start_fraction=st.floats(-1.0, 1.0))
def test_speed_changes_by_at_most_the_acceleration_limit_per_step_even_at_the_limits(
        targets: NDArray[np.float64], accel_rad_s2: float, dt_s: float,
        start_fraction: float) -> None:
    measured = np.zeros(len(ARM))
    max_speed = np.minimum(LIMITS.velocity, 0.5 / dt_s)
    # A start speed the joint can brake from before its nearest limit (>= 1.75 rad away).
    stoppable = np.sqrt(accel_rad_s2 * 1.75)
    start_velocity = start_fraction * np.minimum(max_speed, stoppable)
    command = plan_trajectory(ActionChunk(ARM, targets, dt_s=dt_s), measured=measured,
                              limits=LIMITS, max_step_rad=0.5,
                              max_acceleration_rad_s2=accel_rad_s2,
                              start_velocity=start_velocity).command
    speeds = np.diff(np.vstack([measured, command.positions]), axis=0) / dt_s
    changes = np.diff(np.vstack([start_velocity, speeds]), axis=0)
    assert np.all(np.abs(changes) <= accel_rad_s2 * dt_s + TOLERANCE / dt_s)
    assert np.all(np.abs(speeds) <= max_speed + TOLERANCE / dt_s)


def test_acceleration_limited_joint_speeds_up_and_brakes_onto_its_target() -> None:
    # 10 rad/s^2 at 0.1 s steps: speed changes by at most 1 rad/s (0.1 rad/step) per step.
    chunk = ActionChunk(('joint1',), np.full((8, 1), 0.4), dt_s=0.1)

    planned = plan_trajectory(chunk, measured=np.array([0.0]), limits=JOINT1,
                              max_step_rad=0.5, max_acceleration_rad_s2=10.0)

    positions = planned.command.positions[:, 0]
    steps = np.diff(np.concatenate([[0.0], positions, [positions[-1]]]))
    assert steps[0] == pytest.approx(0.1)  # from rest: one step of acceleration
    assert steps[1] < 0.2  # braking for 0.4 rad already caps the second step
    assert np.all(np.abs(np.diff(steps)) <= 0.1 + TOLERANCE)  # stopping included
    assert np.all(positions <= 0.4 + TOLERANCE)  # no overshoot
    assert positions[-1] == pytest.approx(0.4)
    assert planned.corrections > 0


def test_ramp_scales_rise_linearly_from_zero_to_one() -> None:
    assert_allclose(ramp_scales(np.array([0.0, 0.1, 0.25, 0.5, 2.0]), 0.5),
                    [0.0, 0.2, 0.5, 1.0, 1.0])
    assert ramp_scales(np.array([0.1]), None) is None


def test_enable_ramp_limits_the_first_steps_to_a_growing_fraction_of_the_speed() -> None:
    chunk = ActionChunk(('joint1',), np.full((6, 1), 2.0), dt_s=0.1)
    scales = ramp_scales(0.1 * np.arange(1, 7), 0.4)

    planned = plan_trajectory(chunk, measured=np.array([0.0]), limits=JOINT1,
                              max_step_rad=0.5, speed_scales=scales)

    # 0.2 rad per full step, scaled by 0.25, 0.5, 0.75, 1, 1, 1.
    assert_allclose(np.diff(np.concatenate([[0.0], planned.command.positions[:, 0]])),
                    [0.05, 0.1, 0.15, 0.2, 0.2, 0.2])


@pytest.mark.parametrize(('field', 'value'), [
    ('max_acceleration_rad_s2', 0.0), ('max_acceleration_rad_s2', float('inf')),
    ('enable_ramp_s', -1.0), ('enable_ramp_s', 'slow'),
], ids=['zero-acceleration', 'infinite-acceleration', 'negative-ramp', 'text-ramp'])
def test_invalid_safety_limits_are_config_errors_naming_the_field(field: str,
                                                                  value: object) -> None:
    with pytest.raises(ConfigError, match=rf'^safety\.{field}: {value!r}'):
        SafetyConfig(**{field: value})  # type: ignore[arg-type]
