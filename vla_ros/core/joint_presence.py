# SPDX-License-Identifier: Apache-2.0
# Copyright 2026 The vla_ros authors
"""Start-up check: every configured joint must appear in the joint states, within a deadline.

A joint the config names but the robot never reports (a typo, a renamed joint, a driver that
is not running) would otherwise only show as "no joint state received yet" on every cycle. The
deadline starts with the first joint-state message, not at start-up, so a policy node started
before the robot's driver waits for it; several publishers on one topic (an arm driver and a
gripper driver) are fine, as the joints seen are collected over the messages.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
import enum
import threading

__all__ = ['JointPresence', 'JointPresenceCheck']


class JointPresence(enum.Enum):
    """Where the check stands."""

    WAITING = 0  # some joints not seen yet, deadline not passed (or no message yet)
    COMPLETE = 1  # every required joint has been seen
    MISSING = 2  # the deadline passed with joints still missing


class JointPresenceCheck:
    """Collects joint names from joint-state messages and judges them against the deadline.

    Args:
        required: the configured joints.
        timeout_s: how long after the first message every required joint must have appeared.
        clock: monotonic seconds.
        topic: the joint-state topic, for the error message.
    """

    def __init__(self, required: Sequence[str], *, timeout_s: float,
                 clock: Callable[[], float], topic: str = 'joint_states') -> None:
        self._required = tuple(required)
        self._timeout_s = timeout_s
        self._clock = clock
        self._topic = topic
        self._lock = threading.Lock()
        self._seen: set[str] = set()
        self._first_s: float | None = None

    def observe(self, names: Sequence[str]) -> JointPresence:
        """Record one message's joint names; return the verdict after it."""
        with self._lock:
            if self._first_s is None:
                self._first_s = self._clock()
            self._seen.update(names)
            if not self._missing_locked():
                return JointPresence.COMPLETE
            if self._clock() - self._first_s >= self._timeout_s:
                return JointPresence.MISSING
            return JointPresence.WAITING

    @property
    def missing(self) -> tuple[str, ...]:
        """Required joints not seen so far, in the configured order."""
        with self._lock:
            return self._missing_locked()

    def error_message(self) -> str:
        """What is wrong, naming the missing joints, the topic and the joints it does carry."""
        with self._lock:
            missing = self._missing_locked()
            seen = sorted(self._seen)
        return (f'configured joints {list(missing)!r} are missing from {self._topic} after '
                f'{self._timeout_s:.1f} s; it carries {seen!r}')

    def _missing_locked(self) -> tuple[str, ...]:
        return tuple(joint for joint in self._required if joint not in self._seen)
