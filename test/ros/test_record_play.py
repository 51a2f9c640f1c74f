# SPDX-License-Identifier: Apache-2.0
# Copyright 2026 The vla_ros authors
"""Recorder and player nodes over real DDS; every bag is read back with rosbags' AnyReader."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
import threading
import time

import numpy as np
import pytest
from rclpy.node import Node
from rclpy.parameter import Parameter
from rclpy.qos import QoSProfile
from rclpy.serialization import deserialize_message, serialize_message
from rosbags.highlevel import AnyReader
from rosbags.interfaces import QosDurability, QosReliability
from rosbags.rosbag2 import StoragePlugin, Writer
from rosbags.typesys import get_typestore, Stores
from rosgraph_msgs.msg import Clock
from sensor_msgs.msg import Image, JointState
from std_msgs.msg import String
from trajectory_msgs.msg import JointTrajectory

from vla_ros.data import BagReader, BagWriter, MessageTypes
from vla_ros.msg import PolicyStatus
from vla_ros.ros.in_process import InProcessGraph
from vla_ros.ros.nodes.player_node import PlayerNode
from vla_ros.ros.nodes.recorder_node import RecorderNode
from vla_ros.ros.qos import COMMAND_QOS, SENSOR_QOS, STATUS_QOS

WAIT_S = 20.0
#: Gaps between published messages, s: short and long ones, so timing errors would show.
GAPS_S = (0.04, 0.25, 0.04, 0.04, 0.3, 0.1)


def _wait_until(condition: Callable[[], bool], what: str, timeout_s: float = WAIT_S) -> None:
    deadline = time.monotonic() + timeout_s
    while not condition():
        if time.monotonic() > deadline:
            pytest.fail(f'{what} not within {timeout_s} s')
        threading.Event().wait(0.02)


def _joint_state(index: int) -> JointState:
    return JointState(name=['joint1', 'joint2'], position=[0.1 * index, -0.5],
                      velocity=[0.0, float(index)], effort=[])


def _image(index: int) -> Image:
    pixels = (np.arange(24 * 32 * 3) + index).astype(np.uint8)
    return Image(height=24, width=32, encoding='rgb8', is_bigendian=0, step=32 * 3,
                 data=pixels.tobytes())


def _recorder(graph, bag: Path, topics: list[str], storage: str = 'sqlite3') -> RecorderNode:
    return graph.add(RecorderNode, node_name=f'recorder_{bag.name}', parameter_overrides=[
        Parameter('output', value=str(bag)), Parameter('storage', value=storage),
        Parameter('topics', value=topics)])


def _wait_for_subscribers(*publishers) -> None:
    _wait_until(lambda: all(pub.get_subscription_count() > 0 for pub in publishers),
                'the recorder subscribing')


def _written(recorder: RecorderNode) -> dict[str, int]:
    return {counts.topic: counts.written for counts in recorder.counts()}


def _read_raw(bag: Path) -> dict[str, list[tuple[int, bytes]]]:
    """{topic: [(timestamp, bytes)]} as rosbags itself reads the bag."""
    topics: dict[str, list[tuple[int, bytes]]] = {}
    with AnyReader([bag]) as reader:
        for connection, stamp_ns, data in reader.messages():
            topics.setdefault(connection.topic, []).append((stamp_ns, bytes(data)))
    return topics


def test_recorder_stores_every_message_of_live_publishers(graph, tmp_path):
    talker = graph.add(Node, node_name='talker')
    joints_pub = talker.create_publisher(JointState, 'joint_states', SENSOR_QOS)
    image_pub = talker.create_publisher(Image, 'camera/front/image_raw', SENSOR_QOS)
    bag = tmp_path / 'live'
    recorder = _recorder(graph, bag, ['joint_states', 'camera/front/image_raw'], 'mcap')
    recorder.wait_for_topics(WAIT_S)
    _wait_for_subscribers(joints_pub, image_pub)
    rounds = 30

    for index in range(rounds):
        joints_pub.publish(_joint_state(index))
        image_pub.publish(_image(index))
        threading.Event().wait(0.05)
    _wait_until(lambda: _written(recorder) == {'/joint_states': rounds,
                                               '/camera/front/image_raw': rounds},
                'every message written')
    counts = recorder.close()

    assert {(c.topic, c.type_name, c.received, c.written) for c in counts} == {
        ('/joint_states', 'sensor_msgs/msg/JointState', rounds, rounds),
        ('/camera/front/image_raw', 'sensor_msgs/msg/Image', rounds, rounds)}
    raw = _read_raw(bag)  # CDR padding bytes are arbitrary, so compare the decoded messages
    assert [deserialize_message(data, JointState) for _, data in raw['/joint_states']] == [
        _joint_state(index) for index in range(rounds)]
    assert [deserialize_message(data, Image) for _, data in raw['/camera/front/image_raw']] == [
        _image(index) for index in range(rounds)]
    with AnyReader([bag]) as reader:
        images = [reader.deserialize(data, connection.msgtype)
                  for connection, _, data in reader.messages()
                  if connection.topic == '/camera/front/image_raw']
        qos = {c.topic: c.ext.offered_qos_profiles for c in reader.connections}
    assert images[7].encoding == 'rgb8' and (images[7].width, images[7].height) == (32, 24)
    np.testing.assert_array_equal(images[7].data, np.frombuffer(_image(7).data, np.uint8))
    assert [offer.reliability for offer in qos['/joint_states']] == [QosReliability.BEST_EFFORT]


def test_recorder_without_topics_records_the_policy_topics_only(graph, tmp_path):
    talker = graph.add(Node, node_name='talker')
    policy_pubs = [talker.create_publisher(JointState, 'joint_states', SENSOR_QOS),
                   talker.create_publisher(Image, 'camera/wrist/image_raw', SENSOR_QOS),
                   talker.create_publisher(JointTrajectory, 'arm_controller/joint_trajectory',
                                           COMMAND_QOS)]
    chatter_pub = talker.create_publisher(String, 'chatter', COMMAND_QOS)
    recorder = graph.add(RecorderNode, parameter_overrides=[
        Parameter('output', value=str(tmp_path / 'policy'))])
    _wait_for_subscribers(*policy_pubs)

    def publish_all() -> bool:  # best effort may drop a message: publish until each is in
        for pub, message in zip(policy_pubs, [_joint_state(1), _image(1), JointTrajectory()]):
            pub.publish(message)
        chatter_pub.publish(String(data='not recorded'))
        written = _written(recorder)
        return len(written) == 3 and all(count > 0 for count in written.values())
    _wait_until(publish_all, 'the policy topics written')
    chatter_listeners = chatter_pub.get_subscription_count()
    recorder.close()

    assert chatter_listeners == 0
    assert sorted(_read_raw(tmp_path / 'policy')) == [
        '/arm_controller/joint_trajectory', '/camera/wrist/image_raw', '/joint_states']


def _span_s(stamped: list[tuple[int, bytes]]) -> float:
    """Seconds from the first message's receive stamp to the last's."""
    return (stamped[-1][0] - stamped[0][0]) * 1e-9


def test_record_play_record_keeps_bytes_timing_and_latching(graph, tmp_path):
    talker = graph.add(Node, node_name='talker')
    joints_pub = talker.create_publisher(JointState, 'joint_states', SENSOR_QOS)
    status_pub = talker.create_publisher(PolicyStatus, 'vla/status', STATUS_QOS)
    first = _recorder(graph, tmp_path / 'first', ['joint_states', 'vla/status'])
    first.wait_for_topics(WAIT_S)
    _wait_for_subscribers(joints_pub, status_pub)
    for index, gap_s in enumerate(GAPS_S):
        joints_pub.publish(_joint_state(index))
        if index % 2:
            status_pub.publish(PolicyStatus(state=1, instruction=f'step {index}'))
        threading.Event().wait(gap_s)
    _wait_until(lambda: _written(first) == {'/joint_states': 6, '/vla/status': 3},
                'the first recording')
    first.close()
    talker.destroy_publisher(joints_pub)
    talker.destroy_publisher(status_pub)
    second = _recorder(graph, tmp_path / 'second', [
        'joint_states:sensor_msgs/msg/JointState', 'vla/status:vla_ros/msg/PolicyStatus'])

    player = graph.add(PlayerNode, parameter_overrides=[
        Parameter('bag', value=str(tmp_path / 'first')),
        Parameter('wait_for_subscribers_s', value=WAIT_S)])
    assert player.wait_until_done(WAIT_S)
    _wait_until(lambda: _written(second) == {'/joint_states': 6, '/vla/status': 3},
                'the second recording')
    second.close()

    before, after = _read_raw(tmp_path / 'first'), _read_raw(tmp_path / 'second')
    assert player.published() == {'/joint_states': 6, '/vla/status': 3}
    for topic in ('/joint_states', '/vla/status'):
        assert [data for _, data in after[topic]] == [data for _, data in before[topic]]
    # Receive stamps: a loaded machine delays single callbacks by a few hundred ms, so the
    # timing check is on the whole span (0.67 s), which a player ignoring time would collapse.
    span_before = _span_s(before['/joint_states'])
    assert span_before > 0.5
    assert abs(_span_s(after['/joint_states']) - span_before) < 0.1
    with BagReader(tmp_path / 'second') as reader:
        status = next(t for t in reader.info.topics if t.topic == '/vla/status')
    assert [offer.durability for offer in status.offered_qos] == [QosDurability.TRANSIENT_LOCAL]


def test_player_remaps_loops_and_publishes_the_bag_clock(graph, collect, tmp_path):
    bag, start_ns = tmp_path / 'synthetic', 1_700_000_000_000_000_000
    with BagWriter(bag, message_types=MessageTypes()) as writer:
        for index in range(4):
            writer.write('/joint_states', 'sensor_msgs/msg/JointState',
                         start_ns + index * 100_000_000, serialize_message(_joint_state(index)))
    probe = graph.add(Node, node_name='probe')
    remapped, original, clock = collect(), collect(), collect()
    # The bag records no QoS offer, so the player publishes reliably (rosbag2's fallback); a
    # reliable reader with room for every message sees each one even on a loaded machine,
    # where a best-effort one lost a message in CI.
    probe.create_subscription(JointState, 'replayed/joint_states', remapped, QoSProfile(depth=50))
    probe.create_subscription(JointState, 'joint_states', original, SENSOR_QOS)
    probe.create_subscription(Clock, '/clock', clock, SENSOR_QOS)

    player = graph.add(PlayerNode, parameter_overrides=[
        Parameter('bag', value=str(bag)), Parameter('rate', value=2.0),
        Parameter('loop', value=True), Parameter('clock_rate_hz', value=50.0),
        Parameter('remap', value=['joint_states:=replayed/joint_states']),
        Parameter('wait_for_subscribers_s', value=WAIT_S)])
    messages = remapped.wait_for(lambda msgs: len(msgs) >= 8)
    player.stop()

    assert [list(msg.velocity) for msg in messages[:8]] == [[0.0, float(i % 4)] for i in range(8)]
    assert player.error is None
    assert original.messages == []
    stamps_ns = np.array([msg.clock.sec * 1_000_000_000 + msg.clock.nanosec
                          for msg in clock.messages])
    assert len(stamps_ns) > 5
    assert np.all((stamps_ns >= start_ns) & (stamps_ns <= start_ns + 400_000_000))


def test_recorder_subscribes_again_when_a_best_effort_publisher_joins(graph, tmp_path):
    talker = graph.add(Node, node_name='talker')
    reliable_pub = talker.create_publisher(String, 'chatter', COMMAND_QOS)
    recorder = _recorder(graph, tmp_path / 'mixed', ['chatter:std_msgs/msg/String'])
    _wait_for_subscribers(reliable_pub)
    sent: list[str] = []

    def publish_reliable() -> None:
        sent.append(f'reliable {len(sent)}')
        reliable_pub.publish(String(data=sent[-1]))
    for _ in range(5):
        publish_reliable()
    best_effort_pub = graph.add(Node, node_name='sensor').create_publisher(
        String, 'chatter', SENSOR_QOS)
    subscriptions_seen: set[int] = set()

    def switched() -> bool:  # the reliable publisher keeps going through the switch
        publish_reliable()
        subscriptions_seen.add(reliable_pub.get_subscription_count())
        return (2 in subscriptions_seen and reliable_pub.get_subscription_count() == 1
                and best_effort_pub.get_subscription_count() == 1)
    _wait_until(switched, 'the recorder subscribing again, best effort')
    for index in range(5):
        best_effort_pub.publish(String(data=f'best effort {index}'))
        publish_reliable()
    _wait_until(lambda: _written(recorder).get('/chatter', 0) >= len(sent) + 5,
                'every message written')
    recorder.close()

    stored = [deserialize_message(data, String).data for _, data in _read_raw(tmp_path / 'mixed')[
        '/chatter']]
    # While both subscriptions delivered, each reliable message came twice and was kept once.
    assert sorted(text for text in stored if text.startswith('reliable')) == sorted(sent)
    assert [text for text in stored if text.startswith('best')] == [
        f'best effort {index}' for index in range(5)]


def _third_party_bag(path: Path, images: int, joint_states: int) -> None:
    """An MCAP bag written by rosbags alone, with no QoS offers recorded.

    Images at 20 Hz (bgr8, frame_id = index), joint states at 100 Hz (position = index).
    """
    typestore = get_typestore(Stores.ROS2_KILTED)
    image_cls, joints_cls = (typestore.types['sensor_msgs/msg/Image'],
                             typestore.types['sensor_msgs/msg/JointState'])
    header_cls, time_cls = (typestore.types['std_msgs/msg/Header'],
                            typestore.types['builtin_interfaces/msg/Time'])
    start_ns = 1_700_000_000_000_000_000
    with Writer(path, version=8, storage_plugin=StoragePlugin.MCAP) as writer:
        image_conn = writer.add_connection('/camera/image_raw', image_cls.__msgtype__,
                                           typestore=typestore)
        joints_conn = writer.add_connection('/joint_states', joints_cls.__msgtype__,
                                            typestore=typestore)
        for index in range(images):
            pixels = (np.arange(24 * 32 * 3) + index).astype(np.uint8)
            msg = image_cls(header=header_cls(stamp=time_cls(sec=0, nanosec=0),
                                              frame_id=str(index)),
                            height=24, width=32, encoding='bgr8', is_bigendian=0, step=96,
                            data=pixels)
            writer.write(image_conn, start_ns + index * 50_000_000,
                         typestore.serialize_cdr(msg, msg.__msgtype__))
        for index in range(joint_states):
            msg = joints_cls(header=header_cls(stamp=time_cls(sec=0, nanosec=0), frame_id=''),
                             name=['joint1'], position=np.array([float(index)]),
                             velocity=np.array([], dtype=np.float64),
                             effort=np.array([], dtype=np.float64))
            writer.write(joints_conn, start_ns + index * 10_000_000,
                         typestore.serialize_cdr(msg, msg.__msgtype__))


def test_player_delivers_every_message_to_a_subscriber_already_up(graph, collect, tmp_path):
    _third_party_bag(tmp_path / 'third_party', images=40, joint_states=200)
    images, joints = collect(), collect()
    # The listener is another participant (its own context), as another process would be: the
    # player's publishers reach it only through discovery.
    with InProcessGraph(domain_id=graph.context.get_domain_id()) as listeners:
        listener = listeners.add(Node, node_name='listener')
        listener.create_subscription(Image, 'camera/image_raw', images, QoSProfile(depth=250))
        listener.create_subscription(JointState, 'joint_states', joints, QoSProfile(depth=250))

        player = graph.add(PlayerNode, parameter_overrides=[
            Parameter('bag', value=str(tmp_path / 'third_party'))])
        assert player.wait_until_done(WAIT_S)
        images.wait_for(lambda msgs: len(msgs) >= 40)
        joints.wait_for(lambda msgs: len(msgs) >= 200)
        assert not listeners.callback_errors

    assert player.published() == {'/camera/image_raw': 40, '/joint_states': 200}
    assert [msg.header.frame_id for msg in images.messages] == [str(i) for i in range(40)]
    assert [msg.position[0] for msg in joints.messages] == [float(i) for i in range(200)]
    assert images.messages[39].encoding == 'bgr8'
    np.testing.assert_array_equal(np.asarray(images.messages[39].data, np.uint8),
                                  (np.arange(24 * 32 * 3) + 39).astype(np.uint8))
