# SPDX-License-Identifier: Apache-2.0
# Copyright 2026 The vla_ros authors
"""The ``execution`` and ``safety`` sections of the deployment config (``vla_ros.core.config``).

How chunks become one command stream, and how far and how fast commands may move from where the
robot is. ``vla_ros.core.config`` parses the YAML into these and re-exports them.
"""

from __future__ import annotations

from dataclasses import dataclass
import enum
from typing import Any

from vla_ros.core.errors import ConfigError
from vla_ros.core.value_checks import is_int, is_number, is_positive

__all__ = ['ExecutionConfig', 'ExecutionStrategy', 'SafetyConfig', 'parse_strategy']


class ExecutionStrategy(enum.Enum):
    """How action chunks become one command stream (docs/execution.md compares them).

    SYNC: execute, then infer. ASYNC: infer while executing; the new chunk replaces the steps
    not yet run. ENSEMBLE: ACT's exponentially weighted mean of every prediction of a step.
    RTC: real-time chunking (freeze the steps run during inference, guide the rest).
    """

    SYNC = 'sync'
    ASYNC = 'async'
    ENSEMBLE = 'ensemble'
    RTC = 'rtc'


@dataclass(frozen=True, slots=True)
class ExecutionConfig:
    """How chunks are executed: the strategy, and when the next inference starts.

    Attributes:
        strategy: how chunks become one command stream (see ``ExecutionStrategy``).
        horizon: chunk steps that run before the next inference starts. SYNC executes only
            these steps of each chunk; ASYNC, ENSEMBLE and RTC keep the whole chunk (the
            overlap is what they merge) and start the next inference after these steps (RTC's
            execution horizon s, kept within d <= s <= H - d). None: the whole chunk for SYNC,
            half of it for the others.
        async_threshold_steps: ASYNC starts the next inference when fewer than this many
            planned steps remain; None: chunk length - horizon, i.e. after ``horizon`` steps.
        ensemble_decay: m of ACT's temporal-ensemble weights exp(-m * i), i = 0 for the oldest
            prediction of a step: > 0 favours older predictions, < 0 newer ones.
        rtc_guidance_weight: largest weight of the inpainting guidance of flow-matching
            policies (beta of real-time chunking).
        latency_window: recent inference latencies the delay estimate d = ceil(max / dt) uses.
    """

    strategy: ExecutionStrategy = ExecutionStrategy.SYNC
    horizon: int | None = None
    async_threshold_steps: int | None = None
    ensemble_decay: float = 0.01
    rtc_guidance_weight: float = 5.0
    latency_window: int = 10

    def __post_init__(self) -> None:
        if not isinstance(self.strategy, ExecutionStrategy):
            raise ConfigError(f'execution.strategy: {self.strategy!r}, expected an '
                              'ExecutionStrategy')
        for name in ('horizon', 'async_threshold_steps'):
            value = getattr(self, name)
            if value is not None and (not is_int(value) or value < 1):
                raise ConfigError(
                    f'execution.{name}: {value!r}, expected an integer >= 1 or unset')
        if not is_int(self.latency_window) or self.latency_window < 1:
            raise ConfigError(
                f'execution.latency_window: {self.latency_window!r}, expected an integer >= 1')
        if not is_number(self.ensemble_decay):
            raise ConfigError(
                f'execution.ensemble_decay: {self.ensemble_decay!r}, expected a finite number')
        if not (is_positive(self.rtc_guidance_weight) and is_number(self.rtc_guidance_weight)):
            raise ConfigError(f'execution.rtc_guidance_weight: {self.rtc_guidance_weight!r}, '
                              'expected a finite number > 0')


@dataclass(frozen=True, slots=True)
class SafetyConfig:
    """Stale inputs, and how far and how fast commands may move from where the robot is.

    Attributes:
        stale_after_s: hold when a camera image or the joint state is older than this.
        max_step_rad: largest change of a joint between consecutive trajectory points.
        max_acceleration_rad_s2: largest change of a joint's commanded speed per second
            (URDF ``<limit>`` has no acceleration); None: no acceleration limit.
        enable_ramp_s: after each start from a hold, the allowed speed ramps up linearly from
            zero to its limit over this time; None: no ramp.
        joint_state_tolerance: how far past its URDF limits a measured position may be before
            the joint state is refused as a lie, rad (m): encoder offsets, or a finger pressed
            on a table, read a little past a limit; a gross lie (10 rad) must not pass.
    """

    stale_after_s: float = 1.0
    max_step_rad: float = 0.5
    max_acceleration_rad_s2: float | None = None
    enable_ramp_s: float | None = None
    joint_state_tolerance: float = 0.05

    def __post_init__(self) -> None:
        if not (is_positive(self.stale_after_s) and is_positive(self.max_step_rad)):
            raise ConfigError(
                f'safety: stale_after_s={self.stale_after_s!r}, '
                f'max_step_rad={self.max_step_rad!r}; both must be > 0')
        tolerance = self.joint_state_tolerance
        if not (is_number(tolerance) and 0.0 <= tolerance <= 0.5):
            raise ConfigError(f'safety.joint_state_tolerance: {tolerance!r}, expected a number '
                              'in [0, 0.5] (rad or m past the URDF limits)')
        for name in ('max_acceleration_rad_s2', 'enable_ramp_s'):
            value = getattr(self, name)
            if value is not None and not (is_positive(value) and is_number(value)):
                raise ConfigError(
                    f'safety.{name}: {value!r}, expected a finite number > 0 or unset')


def parse_strategy(value: Any) -> ExecutionStrategy:
    """The ExecutionStrategy named ``value`` ('sync', ...); ConfigError naming the choices."""
    try:
        return ExecutionStrategy(value)
    except ValueError as err:
        raise ConfigError(
            f'execution.strategy: {value!r}, expected one of '
            f'{[strategy.value for strategy in ExecutionStrategy]!r}') from err
