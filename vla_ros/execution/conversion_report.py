# SPDX-License-Identifier: Apache-2.0
# Copyright 2026 The vla_ros authors
"""What converting a raw action chunk to joint targets had to change, for /vla/status."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Protocol, runtime_checkable

__all__ = ['ConversionReport', 'ReportsConversion']


@dataclass(frozen=True, slots=True)
class ConversionReport:
    """Corrections made while converting one chunk (all zero: the chunk was used as given).

    Attributes:
        clamped_values: values a limit changed: joint position limits, per-step joint travel,
            end-effector speed, the gripper's normalised range.
        unreachable_steps: end-effector rows whose target the IK could not reach (the joints
            moved towards it as far as the limits allow).
        singular_steps: end-effector rows solved within ``SINGULAR_VALUE`` of a singularity.
        max_position_error_m: largest distance left to an end-effector target, m.
        max_rotation_error_rad: largest rotation left to an end-effector target, rad.
    """

    clamped_values: int = 0
    unreachable_steps: int = 0
    singular_steps: int = 0
    max_position_error_m: float = 0.0
    max_rotation_error_rad: float = 0.0

    @property
    def corrected(self) -> bool:
        """Whether the converted chunk differs from what the policy asked for."""
        return bool(self.clamped_values or self.unreachable_steps)

    def merged(self, other: ConversionReport) -> ConversionReport:
        """Both reports together (counts add, largest errors win)."""
        return ConversionReport(
            clamped_values=self.clamped_values + other.clamped_values,
            unreachable_steps=self.unreachable_steps + other.unreachable_steps,
            singular_steps=self.singular_steps + other.singular_steps,
            max_position_error_m=max(self.max_position_error_m, other.max_position_error_m),
            max_rotation_error_rad=max(self.max_rotation_error_rad,
                                       other.max_rotation_error_rad))

    def summary(self) -> str:
        """One line for ``last_error`` in /vla/status; empty when nothing was corrected."""
        if not self.corrected and not self.singular_steps:
            return ''
        return (f'action conversion: {self.clamped_values} values clamped, '
                f'{self.unreachable_steps} end-effector steps unreachable (largest miss '
                f'{self.max_position_error_m:.4f} m, {self.max_rotation_error_rad:.4f} rad), '
                f'{self.singular_steps} near a singularity')


@runtime_checkable
class ReportsConversion(Protocol):
    """A policy that converts its raw actions and reports what it corrected.

    The runner counts these corrections into /vla/status; ``ActionSpacePolicy`` is one.
    """

    @property
    def last_report(self) -> ConversionReport:
        """What the conversion of the latest chunk corrected."""
        ...
