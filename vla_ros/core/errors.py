# SPDX-License-Identifier: Apache-2.0
# Copyright 2026 The vla_ros authors
"""Error types of vla_ros: one subclass per kind of failure.

Core code raises these; the ROS boundary (``vla_ros.ros``) decides what to do
(reject a goal, publish the error in ``/vla/status``, hold position).
"""

from __future__ import annotations

__all__ = ['ConfigError', 'DataError', 'InputError', 'PolicyOutputError', 'SafetyViolation',
           'VlaRosError']


class VlaRosError(Exception):
    """Base of every error vla_ros raises on purpose."""


class ConfigError(VlaRosError):
    """A configuration file, parameter or checkpoint is invalid."""


class InputError(VlaRosError):
    """An observation or request is unusable: NaN, wrong encoding or size, unknown joint, stale."""


class PolicyOutputError(VlaRosError):
    """A policy returned something that is not a valid action chunk."""


class SafetyViolation(VlaRosError):
    """A command would leave the robot's limits and was refused."""


class DataError(VlaRosError):
    """A bag cannot be written or read: existing or unwritable path, corrupt file, unknown type."""
