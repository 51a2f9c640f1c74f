# SPDX-License-Identifier: Apache-2.0
# Copyright 2026 The vla_ros authors
"""Whether the policy node may start motion now, and starting it only when it may.

Motion is refused while the node is not active (lifecycle), while configured joints are missing
from the joint states, and while the runner is stopped (``vla/stop``). ``start`` decides and
starts under one lock that ``deactivate`` takes too, so no instruction starts after the node
went inactive: a start decided before it is held by the deactivation that follows.
"""

from __future__ import annotations

import threading
from typing import TYPE_CHECKING

from vla_ros.core.errors import SafetyViolation

if TYPE_CHECKING:
    from vla_ros.execution.runner import PolicyRunner

__all__ = ['MotionGate', 'NOT_ACTIVE_REFUSAL']

#: Why motion is refused while the policy node is configured but not active.
NOT_ACTIVE_REFUSAL = 'the policy node is not active (lifecycle); activate it first'


class MotionGate:
    """Starts the runner's instructions while motion is allowed; says why when it is not."""

    def __init__(self, runner: PolicyRunner) -> None:
        self._runner = runner
        self._lock = threading.Lock()  # orders starts against deactivation
        self._active = False
        self._joint_error: str | None = None

    @property
    def joint_error(self) -> str | None:
        """Why configured joints count as missing, or None while every one is measured."""
        return self._joint_error

    def activate(self) -> None:
        """Allow motion (the node became active)."""
        with self._lock:
            self._active = True

    def deactivate(self) -> None:
        """Refuse motion from now on; a start already decided has returned when this does."""
        with self._lock:
            self._active = False

    def joints_missing(self, error: str | None) -> None:
        """Refuse motion for ``error`` (configured joints are missing); None: allow it again."""
        self._joint_error = error

    def refusal(self) -> str | None:
        """Why motion may not start now, or None."""
        if not self._active:
            return NOT_ACTIVE_REFUSAL
        if self._joint_error is not None:
            return self._joint_error
        return self._runner.refusal

    def start(self, instruction: str) -> None:
        """Start ``instruction`` (normalised) on the runner.

        Raises:
            SafetyViolation: motion is refused now; the message says why.
        """
        with self._lock:
            reason = self.refusal()
            if reason is not None:
                raise SafetyViolation(reason)
            self._runner.start(instruction)
