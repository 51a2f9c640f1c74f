# SPDX-License-Identifier: Apache-2.0
# Copyright 2026 The vla_ros authors
"""ClockWatch: a controllers' clock that stops (judged on the wall clock) or jumps back."""

from __future__ import annotations

import itertools
import threading

import pytest

from vla_ros.ros.control_clock import ClockWatch

STALE_AFTER_S = 1.0


class _Clocks:
    """A controllers' clock and a wall clock that the test sets by hand."""

    def __init__(self, control_s: float) -> None:
        self.control_s, self.wall_s = control_s, 50.0

    def watch(self) -> ClockWatch:
        return ClockWatch(lambda: self.control_s, stale_after_s=STALE_AFTER_S,
                          wall=lambda: self.wall_s)


# (controllers' clock at start, then (control advance s, wall advance s) per check,
#  expected fault of the last check: None, or the start of its reason)
CASES = {
    'running': (10.0, [(0.1, 0.1)] * 5, None),
    'slow but running': (10.0, [(0.001, 0.9)] * 5, None),
    'stopped within the limit': (10.0, [(0.0, 0.5), (0.0, 0.5)], None),
    'stopped beyond the limit': (10.0, [(0.0, 0.6), (0.0, 0.6)], '/clock stopped'),
    'never started': (0.0, [(0.0, 0.6), (0.0, 0.6)], 'no /clock received'),
    'went back': (10.0, [(0.1, 0.1), (-9.5, 0.1)], '/clock went back from 10.100 s to 0.600 s'),
    'runs again after going back': (10.0, [(-9.5, 0.1), (0.1, 0.1)], None),
    'runs again after a stop': (10.0, [(0.0, 2.0), (0.1, 0.1)], None),
}


@pytest.mark.parametrize(('start_s', 'steps', 'expected'), CASES.values(), ids=CASES.keys())
def test_clock_watch_reports_stops_and_jumps_back(start_s, steps, expected):
    clocks = _Clocks(start_s)
    watch = clocks.watch()
    fault = None
    for control_step_s, wall_step_s in steps:
        clocks.control_s += control_step_s
        clocks.wall_s += wall_step_s
        fault = watch.check()

    if expected is None:
        assert fault is None
    else:
        assert fault is not None and fault.reason.startswith(expected), fault
        assert fault.went_back == ('went back' in expected)


def test_a_jump_back_is_reported_once_and_a_stop_until_the_clock_runs():
    clocks = _Clocks(10.0)
    watch = clocks.watch()
    clocks.control_s, clocks.wall_s = 0.5, clocks.wall_s + 0.1
    jumped = watch.check()
    clocks.wall_s += 0.1
    after_jump = watch.check()
    clocks.wall_s += 1.5
    stopped, stopped_again, peeked = watch.check(), watch.check(), watch.stopped()
    clocks.control_s += 0.02
    peeked_running = watch.stopped()

    assert jumped is not None and jumped.went_back
    assert after_jump is None
    assert stopped is not None and stopped_again == stopped and peeked == stopped
    assert not stopped.went_back
    assert peeked_running is None


def test_two_checks_at_once_never_see_the_clock_go_back():
    # The node's clock timer can run twice at once on a loaded machine: the first check read
    # 10.1 s and was descheduled, the second read 10.2 s and stored it, then the first stored
    # 10.1 s and reported "/clock went back" (a CI run aborted a healthy goal so).
    reads = itertools.count()
    first_read, second_done = threading.Event(), threading.Event()

    def clock() -> float:
        read = next(reads)
        if read == 1:  # the first check's read: descheduled until the second check is done
            first_read.set()
            second_done.wait(timeout=1.0)
        return 10.0 + 0.1 * read

    watch = ClockWatch(clock, stale_after_s=STALE_AFTER_S)
    faults: list[object] = []

    def second() -> None:
        faults.append(watch.check())
        second_done.set()

    first = threading.Thread(target=lambda: faults.append(watch.check()))
    first.start()
    assert first_read.wait(timeout=5.0)
    other = threading.Thread(target=second)
    other.start()
    first.join(timeout=5.0)
    other.join(timeout=5.0)

    assert faults == [None, None]
