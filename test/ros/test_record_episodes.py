# SPDX-License-Identifier: Apache-2.0
# Copyright 2026 The vla_ros authors
"""Episodes in recordings over real DDS: the recorder's episode services, and action goals."""

from __future__ import annotations

from collections.abc import Callable
import threading
import time

from action_msgs.msg import GoalStatus, GoalStatusArray
from node_test_constants import SIM_HOME, WAIT_S
import numpy as np
import pytest
from rclpy.node import Node
from rclpy.parameter import Parameter
from rclpy.qos import DurabilityPolicy, QoSProfile, ReliabilityPolicy
from sensor_msgs.msg import JointState
from std_srvs.srv import SetBool

from vla_ros.data import BagReader, MessageTypes
from vla_ros.data.episodes import EpisodeOutcome, EpisodeSource, split_episodes
from vla_ros.data.lerobot_export import export_lerobot, ExportOptions
from vla_ros.data.lerobot_layout import ImageStorage
from vla_ros.data.lerobot_reader import LeRobotReader
from vla_ros.data.table_files import TableFormat
from vla_ros.ros.clients import call_service, execute_instruction, set_instruction
from vla_ros.ros.nodes.recorder_node import RecorderNode
from vla_ros.ros.qos import SENSOR_QOS

START, STOP = 'vla_recorder/start_episode', 'vla_recorder/stop_episode'


def _wait_until(condition: Callable[[], bool], what: str) -> None:
    deadline = time.monotonic() + WAIT_S
    while not condition():
        if time.monotonic() > deadline:
            pytest.fail(f'{what} not within {WAIT_S} s')
        threading.Event().wait(0.02)


def _written(recorder: RecorderNode, topic: str) -> int:
    return sum(count.written for count in recorder.counts() if count.topic == topic)


def test_episode_services_mark_the_bag_with_instruction_and_outcome(graph, tmp_path):
    talker = graph.add(Node, node_name='talker')
    joints_pub = talker.create_publisher(JointState, 'joint_states', SENSOR_QOS)
    recorder = graph.add(RecorderNode, parameter_overrides=[
        Parameter('output', value=str(tmp_path / 'bag')),
        Parameter('topics', value=['joint_states'])])
    recorder.wait_for_topics(WAIT_S)
    _wait_until(lambda: joints_pub.get_subscription_count() > 0, 'the recorder subscribing')
    published = 0

    def publish(count: int) -> None:  # and wait until the bag has them all
        nonlocal published
        for _ in range(count):
            published += 1
            joints_pub.publish(JointState(name=['joint1'], position=[float(published)]))
        _wait_until(lambda: _written(recorder, '/joint_states') == published, 'the states')

    publish(2)
    lonely_stop = call_service(talker, SetBool, STOP, SetBool.Request(data=True))
    blank = set_instruction(talker, '  ', service=START)
    first = set_instruction(talker, ' pick up the cube ', service=START)
    twice = set_instruction(talker, 'wave', service=START)
    publish(3)
    succeeded = call_service(talker, SetBool, STOP, SetBool.Request(data=True))
    publish(2)
    set_instruction(talker, 'put it down', service=START)
    publish(4)
    call_service(talker, SetBool, STOP, SetBool.Request(data=False))
    set_instruction(talker, 'wave', service=START)
    publish(1)
    recorder.close()

    assert (lonely_stop.success, lonely_stop.message) == (False,
                                                         'no episode is open; start one first')
    assert not blank.accepted and 'instruction is empty' in blank.message
    assert (first.accepted, first.message) == (True, "episode 0 started: 'pick up the cube'")
    assert not twice.accepted and 'is still open; stop it first' in twice.message
    assert (succeeded.success, succeeded.message) == (True, 'episode 0 stopped: succeeded')
    assert recorder.episodes_started == 3
    with BagReader(tmp_path / 'bag') as reader:
        spans = split_episodes(reader, MessageTypes().typestore)
        states = [(message.timestamp_ns, message.data) for message in reader.messages(
            ['/joint_states'])]
    assert [(span.instruction, span.outcome, span.source) for span in spans] == [
        ('pick up the cube', EpisodeOutcome.SUCCEEDED, EpisodeSource.MARKERS),
        ('put it down', EpisodeOutcome.FAILED, EpisodeSource.MARKERS),
        ('wave', EpisodeOutcome.UNKNOWN, EpisodeSource.MARKERS)]
    inside = [sum(span.start_ns <= stamp_ns <= span.end_ns for stamp_ns, _ in states)
              for span in spans]
    assert inside == [3, 4, 1]


def test_each_action_goal_of_a_live_run_becomes_an_exported_episode(start_nodes, graph,
                                                                    collect, tmp_path):
    probe = start_nodes('sim', 'policy')
    recorder = graph.add(RecorderNode, parameter_overrides=[
        Parameter('output', value=str(tmp_path / 'run'))])  # the policy topics
    wanted = {'/joint_states', '/camera/front/image_raw', '/camera/wrist/image_raw',
              '/arm_controller/joint_trajectory', '/gripper_controller/joint_trajectory',
              '/vla/status', '/vla/execute/_action/status'}
    _wait_until(lambda: wanted <= set(recorder.recorded_topics()), 'the policy topics')
    sensors = ('/joint_states', '/camera/front/image_raw', '/camera/wrist/image_raw')
    _wait_until(lambda: all(_written(recorder, topic) >= 2 for topic in sensors),
                'the simulated sensors')  # so the goal starts with every input there
    statuses = collect()
    probe.create_subscription(GoalStatusArray, 'vla/execute/_action/status', statuses,
                              QoSProfile(depth=10, reliability=ReliabilityPolicy.RELIABLE,
                                         durability=DurabilityPolicy.TRANSIENT_LOCAL))

    accepted, result = execute_instruction(probe, 'touch the red cube', duration_s=2.0)
    statuses.wait_for(lambda msgs: any(s.status == GoalStatus.STATUS_SUCCEEDED
                                       for msg in msgs for s in msg.status_list))
    _wait_until(lambda: _written(recorder, '/vla/execute/_action/status')
                >= len(statuses.messages), 'the goal statuses written')
    recorder.close()
    summary = export_lerobot([tmp_path / 'run'], tmp_path / 'dataset', ExportOptions(
        fps=10, image_storage=ImageStorage.IMAGE, table_format=TableFormat.NPZ))

    assert accepted and result is not None and result.success, result
    dataset = LeRobotReader(summary.root)
    (episode,) = dataset.episodes
    assert (episode.instruction, episode.outcome) == ('touch the red cube',
                                                      EpisodeOutcome.SUCCEEDED)
    assert dataset.layout.joint_names == ('joint1', 'joint2', 'joint3', 'joint4', 'joint5',
                                          'joint6', 'gripper_joint')
    assert [(c.name, c.height, c.width) for c in dataset.layout.cameras] == [
        ('front', 64, 64), ('wrist', 64, 64)]
    data = dataset.load(episode)
    # 2 s at 10 fps from the first command on, plus frames while the end status is in flight
    assert 1 <= episode.length <= 25
    # The random policy acts near home, and every state and target stays near it.
    assert np.abs(data.joint_positions - SIM_HOME).max() < 0.5
    assert np.abs(data.actions - SIM_HOME).max() < 0.5
    assert data.images['front'].shape == (episode.length, 64, 64, 3)
