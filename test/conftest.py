# SPDX-License-Identifier: Apache-2.0
# Copyright 2026 The vla_ros authors
"""Session-wide guards for every test.

The tests run the colcon-installed vla_ros, on a private DDS domain, and no test leaves the
process with real-time thread scheduling.
"""

from __future__ import annotations

from collections.abc import Iterator
import os
from pathlib import Path

import pytest

REPO_ROOT = Path(__file__).resolve().parent.parent

# One DDS domain per test process, discovery on this machine only, set before rclpy loads.
os.environ['ROS_DOMAIN_ID'] = str(10 + os.getpid() % 90)
os.environ['ROS_AUTOMATIC_DISCOVERY_RANGE'] = 'LOCALHOST'
os.environ.setdefault('MUJOCO_GL', 'osmesa')


def pytest_configure(config: pytest.Config) -> None:
    """Refuse to run against the source tree: it lacks the generated interfaces."""
    import vla_ros

    location = Path(vla_ros.__file__)
    if 'install' not in location.parts:
        raise pytest.UsageError(
            f'vla_ros is imported from {location}, not from the colcon install; run the tests '
            "with scripts/test (or 'source scripts/env.sh' and call pytest, not python -m pytest)")


@pytest.fixture(scope='session')
def repo_root() -> Path:
    """The checkout's root directory."""
    return REPO_ROOT


@pytest.fixture(autouse=True)
def _normal_thread_scheduling() -> Iterator[None]:
    """Fail a test that leaves the main thread with another scheduling policy, and undo it.

    A library that switches its caller to SCHED_FIFO (SVT-AV1 does, as root) makes every
    thread started later real-time, and DDS's busy threads then starve the whole run.
    """
    policy, param = os.sched_getscheduler(0), os.sched_getparam(0)
    yield
    after = os.sched_getscheduler(0), os.sched_getparam(0)
    if after != (policy, param):
        os.sched_setscheduler(0, policy, param)
        pytest.fail(f'the test left the thread scheduling at {after}, was {(policy, param)}')
