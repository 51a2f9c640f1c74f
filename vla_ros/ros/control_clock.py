# SPDX-License-Identifier: Apache-2.0
# Copyright 2026 The vla_ros authors
"""The clock the policy runner schedules chunks on (the controllers' clock), and its watchdog.

Trajectory times (``time_from_start``) are read by the controller on its own clock, so the
runner must plan on the same one. For a real robot that is the wall clock (monotonic here, so
that clock adjustments do not disturb the plan). With ``use_sim_time`` the controllers run on
simulated time, which a loaded machine slows down; the runner then follows ``/clock``.

A simulated clock can fail in two ways that nothing else notices: it stops (the simulator was
killed; every observation then stays "fresh" on the stopped clock) or it jumps back (the
simulator restarted at 0). ``ClockWatch`` tells both apart from normal running, judging a stop
on the wall clock.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
import threading
import time
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from rclpy.node import Node

__all__ = ['ClockFault', 'ClockWatch', 'control_clock']


def control_clock(node: Node) -> Callable[[], float]:
    """Seconds on the controllers' clock: the ROS clock with use_sim_time, else monotonic."""
    if not node.get_parameter('use_sim_time').value:
        return time.monotonic
    clock = node.get_clock()
    return lambda: clock.now().nanoseconds * 1e-9


@dataclass(frozen=True, slots=True)
class ClockFault:
    """Why the controllers' clock cannot be trusted now.

    Attributes:
        reason: one line for logs, ``vla/status`` and goal results.
        went_back: True for a jump back (reported once, at the jump), False for a stop
            (reported at every check until the clock advances again).
    """

    reason: str
    went_back: bool


class ClockWatch:
    """Watches the controllers' clock for a stop or a jump back.

    Args:
        clock: seconds on the controllers' clock (``control_clock``).
        stale_after_s: longest wall time without a new reading before the clock counts as
            stopped (``safety.stale_after_s``, the limit on the observations' age).
        wall: the wall clock that judges a stop, seconds.
    """

    def __init__(self, clock: Callable[[], float], *, stale_after_s: float,
                 wall: Callable[[], float] = time.monotonic) -> None:
        self._clock = clock
        self._stale_after_s = stale_after_s
        self._wall = wall
        self._lock = threading.Lock()
        self._last_s = clock()
        self._changed_at_s = wall()  # wall time when the reading last changed

    def check(self) -> ClockFault | None:
        """Read the clock; returns the fault it shows now, or None while it runs forward."""
        with self._lock:  # read under the lock: two checks must not store out of order
            now_s, wall_s = self._clock(), self._wall()
            last_s, self._last_s = self._last_s, now_s
            if now_s > last_s:
                self._changed_at_s = wall_s
                return None
            if now_s < last_s:
                self._changed_at_s = wall_s
                return ClockFault(f'/clock went back from {last_s:.3f} s to {now_s:.3f} s '
                                  '(the simulator restarted?)', went_back=True)
            return self._stop_locked(wall_s)

    def stopped(self) -> ClockFault | None:
        """The stop fault if the clock has not advanced since the last check, else None."""
        with self._lock:
            now_s, wall_s = self._clock(), self._wall()
            return self._stop_locked(wall_s) if now_s == self._last_s else None

    def _stop_locked(self, wall_s: float) -> ClockFault | None:
        if wall_s - self._changed_at_s <= self._stale_after_s:
            return None
        if self._last_s == 0.0:  # ROS time reads 0 until the first /clock message
            return ClockFault(f'no /clock received for more than {self._stale_after_s:g} s of '
                              'wall time (safety.stale_after_s)', went_back=False)
        return ClockFault(f'/clock stopped: no new time for more than {self._stale_after_s:g} '
                          's of wall time (safety.stale_after_s)', went_back=False)
