# SPDX-License-Identifier: Apache-2.0
# Copyright 2026 The vla_ros authors
"""The place task through the whole ROS stack: the scripted expert drives the sim node."""

from __future__ import annotations

from pathlib import Path

from node_test_constants import fresh_domain_id
import numpy as np

from vla_ros.ros.evaluation import evaluate
from vla_ros.sim.tasks import make_episode, sample_episodes, TaskKind


def test_the_scripted_expert_places_the_cube_through_ros(repo_root: Path) -> None:
    episodes = sample_episodes(TaskKind.PLACE, 2, seed=1000)

    run = evaluate(config_path=repo_root / 'config' / 'tabletop_arm_place.yaml',
                   episodes=list(episodes), timeout_s=15.0, policy=None,
                   domain_id=fresh_domain_id())

    assert not run.callback_errors
    assert [(r.episode, r.success, r.failure_reason) for r in run.records] == [
        (make_episode(TaskKind.PLACE, 1000), True, None),
        (make_episode(TaskKind.PLACE, 1001), True, None)]
    for record in run.records:  # carried at 15 cm (its centre 13 cm above rest), then set down
        assert record.max_cube_height_m is not None
        assert 0.1 < record.max_cube_height_m < 0.15
        assert record.time_to_success_s is not None
        assert np.isclose(record.time_to_success_s, record.duration_s)
        assert record.smoothness is not None and record.smoothness.boundaries > 0
        assert record.off_target_m == 0.0  # the report's distance off the pad, on the pad
