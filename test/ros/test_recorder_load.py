# SPDX-License-Identifier: Apache-2.0
# Copyright 2026 The vla_ros authors
"""The recorder under load: three 640x480 rgb8 cameras and joint states at 30 Hz for 3 s.

The recorder must write every message it received (best-effort transport may drop some on
the way, which the recorder never sees); the bag read back holds exactly those.
"""

from __future__ import annotations

import array
import shutil
import threading
import time

from node_test_constants import WAIT_S
import numpy as np
import pytest
from rclpy.node import Node
from rclpy.parameter import Parameter
from rosbags.highlevel import AnyReader
from sensor_msgs.msg import Image, JointState

from vla_ros.ros.nodes.recorder_node import RecorderNode
from vla_ros.ros.qos import SENSOR_QOS

CAMERAS = ('front', 'left', 'right')
HEIGHT, WIDTH = 480, 640
RATE_HZ = 30.0
ROUNDS = 90  # 3 s


def _wait_until(condition, what: str) -> None:
    deadline = time.monotonic() + WAIT_S
    while not condition():
        if time.monotonic() > deadline:
            pytest.fail(f'{what} not within {WAIT_S} s')
        threading.Event().wait(0.02)


def _image(camera_index: int) -> Image:
    pixels = np.full((HEIGHT, WIDTH, 3), 40 * camera_index, dtype=np.uint8)
    pixels[:, :, 1] = np.arange(WIDTH, dtype=np.uint16) % 256
    msg = Image(height=HEIGHT, width=WIDTH, encoding='rgb8', is_bigendian=0, step=WIDTH * 3)
    msg.data = array.array('B', pixels.tobytes())
    return msg


def test_three_vga_cameras_and_joint_states_at_30_hz_lose_nothing_received(graph, tmp_path):
    talker = graph.add(Node, node_name='robot')
    image_pubs = [talker.create_publisher(Image, f'camera/{name}/image_raw', SENSOR_QOS)
                  for name in CAMERAS]
    joints_pub = talker.create_publisher(JointState, 'joint_states', SENSOR_QOS)
    bag = tmp_path / 'load'
    topics = [f'camera/{name}/image_raw' for name in CAMERAS] + ['joint_states']
    recorder = graph.add(RecorderNode, parameter_overrides=[
        Parameter('output', value=str(bag)), Parameter('topics', value=topics)])
    recorder.wait_for_topics(WAIT_S)
    _wait_until(lambda: all(pub.get_subscription_count() > 0
                            for pub in [*image_pubs, joints_pub]), 'the recorder subscribing')
    images = [_image(index) for index in range(len(CAMERAS))]

    start_s = time.monotonic()
    for index in range(ROUNDS):
        for pub, msg in zip(image_pubs, images):
            msg.header.frame_id = str(index)
            pub.publish(msg)
        joints_pub.publish(JointState(name=['joint1', 'joint2'], position=[index, -index]))
        threading.Event().wait(max(0.0, start_s + (index + 1) / RATE_HZ - time.monotonic()))
    _wait_until(lambda: all(count.written == count.received for count in recorder.counts()),
                'the writer catching up')
    counts = {count.topic: count for count in recorder.close()}

    assert sorted(counts) == sorted(f'/{topic}' for topic in topics)
    for count in counts.values():
        assert 0 < count.received <= ROUNDS
        assert count.written == count.received, count
    with AnyReader([bag]) as reader:
        stored = {connection.topic: connection.msgcount for connection in reader.connections}
        front = next(c for c in reader.connections if c.topic == '/camera/front/image_raw')
        _, _, data = next(reader.messages(connections=[front]))
        first = reader.deserialize(data, front.msgtype)
    assert stored == {topic: count.written for topic, count in counts.items()}
    assert (first.width, first.height, first.encoding) == (WIDTH, HEIGHT, 'rgb8')
    np.testing.assert_array_equal(np.asarray(first.data).reshape(HEIGHT, WIDTH, 3),
                                  np.frombuffer(images[0].data, np.uint8).reshape(HEIGHT,
                                                                                  WIDTH, 3))
    shutil.rmtree(bag)  # ~250 MB
