# SPDX-License-Identifier: Apache-2.0
# Copyright 2026 The vla_ros authors
"""The execution strategy settings and the acceleration and ramp limits of the config file."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
import yaml

from vla_ros.core.config import ExecutionStrategy, parse_config, parse_strategy
from vla_ros.core.errors import ConfigError

REPO_ROOT = Path(__file__).resolve().parents[2]
SHIPPED = REPO_ROOT / 'config' / 'tabletop_arm.yaml'


def parse(execution: dict[str, Any], safety: dict[str, Any] | None = None) -> Any:
    raw = yaml.safe_load(SHIPPED.read_text())
    raw['execution'] = execution
    if safety is not None:
        raw['safety'] = safety
    return parse_config(raw, root=REPO_ROOT)


def test_every_strategy_setting_and_safety_limit_is_read_from_the_file() -> None:
    config = parse({'strategy': 'rtc', 'horizon': 4, 'async_threshold_steps': 3,
                    'ensemble_decay': -0.2, 'rtc_guidance_weight': 10.0,
                    'latency_window': 5},
                   {'max_step_rad': 0.2, 'max_acceleration_rad_s2': 8.0, 'enable_ramp_s': 0.5})

    execution = config.execution
    assert execution.strategy is ExecutionStrategy.RTC
    assert (execution.horizon, execution.async_threshold_steps) == (4, 3)
    assert (execution.ensemble_decay, execution.rtc_guidance_weight) == (-0.2, 10.0)
    assert execution.latency_window == 5
    assert (config.safety.max_acceleration_rad_s2, config.safety.enable_ramp_s) == (8.0, 0.5)


def test_unset_settings_take_their_defaults() -> None:
    config = parse({'strategy': 'ensemble'})

    execution = config.execution
    assert execution.strategy is ExecutionStrategy.ENSEMBLE
    assert execution.horizon is None and execution.async_threshold_steps is None
    assert (execution.ensemble_decay, execution.rtc_guidance_weight) == (0.01, 5.0)
    assert config.safety.max_acceleration_rad_s2 is None
    assert config.safety.enable_ramp_s is None


@pytest.mark.parametrize(('execution', 'match'), [
    ({'async_threshold_steps': 0}, r'^execution\.async_threshold_steps: 0, expected an integer'),
    ({'ensemble_decay': float('nan')}, r'^execution\.ensemble_decay: nan, expected a finite'),
    ({'rtc_guidance_weight': 0.0}, r'^execution\.rtc_guidance_weight: 0\.0, expected a finite'),
    ({'latency_window': 0}, r'^execution\.latency_window: 0, expected an integer >= 1'),
    ({'rtc_delay': 3}, r"^execution: unknown keys \['rtc_delay'\]"),
], ids=['zero-threshold', 'nan-decay', 'zero-guidance', 'zero-window', 'unknown-key'])
def test_invalid_execution_setting_is_a_config_error_naming_it(execution: dict[str, Any],
                                                                match: str) -> None:
    with pytest.raises(ConfigError, match=match):
        parse(execution)


@pytest.mark.parametrize('strategy', list(ExecutionStrategy), ids=lambda s: s.value)
def test_strategies_parse_from_their_names(strategy: ExecutionStrategy) -> None:
    assert parse_strategy(strategy.value) is strategy


def test_unknown_strategy_name_lists_the_choices() -> None:
    with pytest.raises(ConfigError, match=r"'RTC', expected one of \['sync', 'async', "):
        parse_strategy('RTC')
