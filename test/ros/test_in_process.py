# SPDX-License-Identifier: Apache-2.0
# Copyright 2026 The vla_ros authors
"""Ctrl-C ends `vla-ros sim` and `vla-ros record` even when a DDS thread receives the signal."""

from __future__ import annotations

import signal
import threading
import time

import pytest

from vla_ros.ros.in_process import wait_until_interrupted

#: Far longer than a working interrupt needs (0.1 s) and far shorter than the wait it ends.
DEADLINE_S = 20.0


def test_sigint_delivered_to_another_thread_interrupts_the_wait() -> None:
    """The kernel may hand SIGINT to any thread; an untimed wait in the main thread hung."""
    # Python's own handler, as in a terminal (a launcher may have started us ignoring SIGINT).
    previous = signal.signal(signal.SIGINT, signal.default_int_handler)
    release = threading.Event()
    other = threading.Thread(target=release.wait, args=(60.0,), name='like-a-dds-thread')
    other.start()
    assert other.ident is not None
    timer = threading.Timer(0.2, signal.pthread_kill, args=(other.ident, signal.SIGINT))
    started = time.monotonic()
    timer.start()
    try:
        with pytest.raises(KeyboardInterrupt):
            wait_until_interrupted(60.0)
    finally:
        release.set()
        other.join()
        timer.cancel()
        signal.signal(signal.SIGINT, previous)
    assert time.monotonic() - started < DEADLINE_S


def test_a_duration_ends_the_wait_without_an_interrupt() -> None:
    started = time.monotonic()

    wait_until_interrupted(0.3)

    assert time.monotonic() - started >= 0.3
