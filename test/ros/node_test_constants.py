# SPDX-License-Identifier: Apache-2.0
# Copyright 2026 The vla_ros authors
"""Constants shared by the node tests (a uniquely named module: conftest names collide)."""

from __future__ import annotations

from vla_ros.policies.flow.checkpoint import DEFAULT_HOME_POSITIONS

#: The simulated arm's home keyframe (urdf/tabletop_scene.xml), where the random policy acts.
SIM_HOME = DEFAULT_HOME_POSITIONS
ARM_JOINTS = ('joint1', 'joint2', 'joint3', 'joint4', 'joint5', 'joint6')
#: Longest wait for any message, service or goal, seconds (a deadline, not a timing claim).
WAIT_S = 30.0
