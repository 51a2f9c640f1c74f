# SPDX-License-Identifier: Apache-2.0
# Copyright 2026 The vla_ros authors
"""Closed-loop evaluation through the policy node's action, and the sim reset it relies on."""

from __future__ import annotations

from pathlib import Path

from node_test_constants import fresh_domain_id
import pytest
from rclpy.node import Node
from sensor_msgs.msg import Image
from std_srvs.srv import Trigger

from vla_ros.core.errors import ConfigError
from vla_ros.ros.clients import call_service
from vla_ros.ros.evaluation import EpisodeRecord, evaluate, PolicyUnderTest
from vla_ros.ros.in_process import InProcessGraph
from vla_ros.ros.qos import SENSOR_QOS
from vla_ros.sim.tasks import FailureReason, sample_episodes, TaskKind


def _stamp_s(msg: Image) -> float:
    return msg.header.stamp.sec + 1e-9 * msg.header.stamp.nanosec


def test_cameras_restart_with_sim_time_after_a_reset(start_nodes, collect):
    probe = start_nodes('sim')
    images = collect()
    probe.create_subscription(Image, 'camera/front/image_raw', images, SENSOR_QOS)
    images.wait_for(lambda msgs: msgs and _stamp_s(msgs[-1]) >= 1.0)

    response = call_service(probe, Trigger, 'sim/reset', Trigger.Request())
    count = len(images.messages)
    after = images.wait_for(lambda msgs: any(_stamp_s(m) < 1.0 for m in msgs[count:]))

    assert response.success
    first = next(msg for msg in after[count:] if _stamp_s(msg) < 1.0)
    # The first frame of the new episode comes at once, not when sim time catches up again.
    assert _stamp_s(first) <= 0.1
    assert all(_stamp_s(msg) >= 1.0 for msg in after[count:after.index(first)])


def test_policy_episodes_run_to_their_timeout_and_are_cancelled(config_file: Path,
                                                                 checkpoint_dir: Path) -> None:
    episodes = sample_episodes(TaskKind.LIFT, 2, seed=4)
    seen = []

    run = evaluate(config_path=config_file, episodes=episodes, timeout_s=1.0,
                   policy=PolicyUnderTest(checkpoint_dir, 'flow'), on_episode=seen.append,
                   domain_id=fresh_domain_id())

    assert run.records == tuple(seen)
    assert [record.episode for record in run.records] == episodes
    for record in run.records:  # a random policy lifts nothing
        assert not record.success and record.time_to_success_s is None
        assert record.duration_s >= 1.0  # ran to its timeout (no upper bound: load varies)
        assert record.outcome == 'canceled'
        assert record.failure_reason is FailureReason.NEVER_GRASPED
        assert record.max_cube_height_m is not None and record.max_cube_height_m < 0.005
        assert record.closest_m is None and record.ended_nearest is None  # not a reach
    assert run.latencies_ms and min(run.latencies_ms) > 0.0


def test_a_reset_by_another_client_fails_the_evaluation_instead_of_scoring_another_scene(
        config_file: Path) -> None:
    episodes = sample_episodes(TaskKind.REACH, 3, seed=20)
    domain_id = fresh_domain_id()
    with InProcessGraph(domain_id=domain_id) as other:
        intruder = other.add(Node, node_name='intruder')

        def reset_behind_its_back(record: EpisodeRecord) -> None:
            if record.episode is episodes[0]:  # the sim moves on to seed 21 before episode 1
                assert call_service(intruder, Trigger, 'sim/reset', Trigger.Request()).success

        with pytest.raises(ConfigError, match='should have shown seed 21, but the sim shows '
                                              'seed 22: another client reset'):
            evaluate(config_path=config_file, episodes=episodes, timeout_s=5.0, policy=None,
                     on_episode=reset_behind_its_back, domain_id=domain_id)
