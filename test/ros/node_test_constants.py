# SPDX-License-Identifier: Apache-2.0
# Copyright 2026 The vla_ros authors
"""Constants shared by the node tests (a uniquely named module: conftest names collide)."""

from __future__ import annotations

import itertools
import os

from vla_ros.policies.flow.checkpoint import DEFAULT_HOME_POSITIONS

_DOMAINS = itertools.count()


def fresh_domain_id() -> int:
    """A DDS domain no earlier graph of this process used recently (120-229, cycling).

    Each graph on its own domain cannot see another test's entities: an action server of the
    previous test, still in discovery, would otherwise answer ``wait_for_server`` before this
    test's own server is matched, and the goal would go nowhere.
    """
    return 120 + (os.getpid() * 7 + next(_DOMAINS)) % 110

#: The simulated arm's home keyframe (urdf/tabletop_scene.xml), where the random policy acts.
SIM_HOME = DEFAULT_HOME_POSITIONS
ARM_JOINTS = ('joint1', 'joint2', 'joint3', 'joint4', 'joint5', 'joint6')
#: Longest wait for any message, service or goal, seconds (a deadline, not a timing claim).
WAIT_S = 30.0
