# SPDX-License-Identifier: Apache-2.0
# Copyright 2026 The vla_ros authors
"""Node parameters: one way to declare them, and the policy node's overlay on the config file.

Every node declares its parameters with ``declare_read_only`` (a description, a range where
one applies, read-only). The policy node's are a thin overlay on the config file, checked by
its loader.
"""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass
import functools
from pathlib import Path
from typing import Any, TYPE_CHECKING

from rcl_interfaces.msg import FloatingPointRange, IntegerRange, ParameterDescriptor

from vla_ros.core.config import load_config, parse_strategy, VlaConfig
from vla_ros.core.errors import ConfigError
from vla_ros.core.policy_family import PolicyFamily

if TYPE_CHECKING:
    from rclpy.node import Node

__all__ = ['PolicyNodeParameters', 'declare_policy_parameters', 'declare_read_only',
           'overlay_config']

#: Default of ``startup.joint_state_timeout_s``, seconds.
DEFAULT_JOINT_STATE_TIMEOUT_S = 5.0


def declare_read_only(node: Node, name: str, default: Any, description: str, *,
                      float_range: tuple[float, float] | None = None,
                      int_range: tuple[int, int] | None = None) -> Any:
    """Declare the read-only parameter ``name`` on ``node`` and return its value.

    Args:
        node: the node that owns the parameter.
        name: the parameter's (dotted) name.
        default: its default value; a ``Parameter.Type`` declares a typed parameter without
            one, whose value is None while unset.
        description: what it sets, as ``ros2 param describe`` shows it.
        float_range: the inclusive (from, to) range of a floating-point parameter.
        int_range: the inclusive (from, to) range of an integer parameter (step 1).
    """
    descriptor = ParameterDescriptor(description=description, read_only=True)
    if float_range is not None:
        descriptor.floating_point_range = [
            FloatingPointRange(from_value=float_range[0], to_value=float_range[1])]
    if int_range is not None:
        descriptor.integer_range = [
            IntegerRange(from_value=int_range[0], to_value=int_range[1], step=1)]
    return node.declare_parameter(name, default, descriptor).value


@dataclass(frozen=True, slots=True)
class PolicyNodeParameters:
    """The values of the policy node's (read-only) parameters.

    Attributes:
        config_file: the embodiment YAML; empty when unset.
        family: overrides ``policy.family``; empty: keep the file's.
        checkpoint: overrides ``policy.checkpoint``; empty: keep the file's.
        device: overrides ``policy.device``; empty: keep the file's.
        threads: overrides ``policy.threads`` (torch CPU threads); 0: keep the file's.
        horizon: overrides ``execution.horizon``; 0: keep the file's.
        strategy: overrides ``execution.strategy`` (sync, async, ensemble, rtc); empty: keep
            the file's.
        dry_run: publish trajectories under ``vla/preview/`` only.
        autostart: configure and activate while constructing (no lifecycle manager needed).
        joint_state_timeout_s: how long after the first joint state every configured joint
            must have appeared, seconds.
    """

    config_file: str
    family: str
    checkpoint: str
    device: str
    threads: int
    horizon: int
    strategy: str
    dry_run: bool
    autostart: bool
    joint_state_timeout_s: float


def declare_policy_parameters(node: Node) -> PolicyNodeParameters:
    """Declare the parameters on ``node`` (all read-only) and return their values."""
    declare = functools.partial(declare_read_only, node)
    return PolicyNodeParameters(
        config_file=str(declare('config_file', '', 'embodiment YAML (config/*.yaml); required')),
        family=str(declare('policy.family', '', 'overrides policy.family of the config file')),
        checkpoint=str(declare('policy.checkpoint', '', 'overrides policy.checkpoint')),
        device=str(declare('policy.device', '', 'overrides policy.device (cpu, cuda, cuda:1)')),
        threads=int(str(declare(
            'policy.threads', 0, 'torch CPU threads; 0: as in the config file',
            int_range=(0, 1024)))),
        horizon=int(str(declare(
            'execution.horizon', 0, 'chunk steps executed per inference; 0: as in the config file',
            int_range=(0, 10_000)))),
        strategy=str(declare('execution.strategy', '',
                             'overrides execution.strategy: sync, async, ensemble or rtc')),
        dry_run=bool(declare('execution.dry_run', False,
                             'publish trajectories on vla/preview/... only')),
        autostart=bool(declare('autostart', True,
                               'configure and activate at start; false: wait for a lifecycle '
                               'manager (change_state)')),
        joint_state_timeout_s=float(str(declare(
            'startup.joint_state_timeout_s', DEFAULT_JOINT_STATE_TIMEOUT_S,
            'after the first joint state, every configured joint must appear within this '
            'many seconds, else the node reports it and refuses motion',
            float_range=(0.0, 3600.0)))))


def overlay_config(parameters: PolicyNodeParameters) -> VlaConfig:
    """Load the config file and apply the parameter overrides, through the same validation.

    Raises:
        ConfigError: ``config_file`` unset, or an invalid file or override.
    """
    if not parameters.config_file:
        raise ConfigError('parameter config_file is not set; pass -p config_file:=FILE.yaml')
    config = load_config(parameters.config_file)
    policy = dataclasses.replace(
        config.policy,
        family=PolicyFamily.parse(parameters.family) if parameters.family
        else config.policy.family,
        checkpoint=Path(parameters.checkpoint) if parameters.checkpoint
        else config.policy.checkpoint,
        device=parameters.device or config.policy.device,
        threads=parameters.threads or config.policy.threads)
    execution = config.execution
    if parameters.horizon:
        execution = dataclasses.replace(execution, horizon=parameters.horizon)
    if parameters.strategy:
        execution = dataclasses.replace(execution, strategy=parse_strategy(parameters.strategy))
    return dataclasses.replace(config, policy=policy, execution=execution)
