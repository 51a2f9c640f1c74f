# SPDX-License-Identifier: Apache-2.0
# Copyright 2026 The vla_ros authors
"""Shared fixtures: one tiny random flow checkpoint per session, and synthetic observations."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import numpy as np
import pytest

from vla_ros.core.types import Observation
from vla_ros.policies.flow.checkpoint import (
    create_random_checkpoint,
    DEFAULT_HOME_POSITIONS,
    DEFAULT_MOTION_STD,
    DEFAULT_SPEC,
)


def _make_observation(*, seed: int = 0, instruction: str = 'pick up the red cube',
                      size_px: int = 64) -> Observation:
    rng = np.random.default_rng(seed)
    images = {name: rng.integers(0, 256, (size_px, size_px, 3), dtype=np.uint8)
              for name in DEFAULT_SPEC.camera_names}
    offset_rad = rng.normal(0.0, 0.05, len(DEFAULT_HOME_POSITIONS))
    offset_rad[-1] = 0.0  # the gripper (m) stays at home
    return Observation(images=images, joint_names=DEFAULT_SPEC.joint_names,
                       joint_positions=np.asarray(DEFAULT_HOME_POSITIONS) + offset_rad,
                       instruction=instruction)


@pytest.fixture(scope='session')
def flow_checkpoint(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The default robot's random checkpoint, seed 0, as the set-up script writes it."""
    return create_random_checkpoint(
        tmp_path_factory.mktemp('flow') / 'random', DEFAULT_SPEC, seed=0,
        home_positions=DEFAULT_HOME_POSITIONS, motion_std=DEFAULT_MOTION_STD)


@pytest.fixture
def make_observation() -> Callable[..., Observation]:
    """Build default-robot observations: noise images (``seed``), home pose plus a small offset."""
    return _make_observation


@pytest.fixture
def observation() -> Observation:
    """A valid observation for ``DEFAULT_SPEC``."""
    return _make_observation()
