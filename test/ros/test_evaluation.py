# SPDX-License-Identifier: Apache-2.0
# Copyright 2026 The vla_ros authors
"""Closed-loop evaluation through the policy node's action, and the sim reset it relies on."""

from __future__ import annotations

from pathlib import Path

from node_test_constants import fresh_domain_id
from sensor_msgs.msg import Image
from std_srvs.srv import Trigger

from vla_ros.ros.clients import call_service
from vla_ros.ros.evaluation import evaluate, PolicyUnderTest
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
    assert run.latencies_ms and min(run.latencies_ms) > 0.0
