# SPDX-License-Identifier: Apache-2.0
# Copyright 2026 The vla_ros authors
"""The policy node's numpy-built trajectory bytes: the message rclpy builds, over real DDS too."""

from __future__ import annotations

import time

from node_test_constants import WAIT_S
import numpy as np
import pytest
from rclpy.node import Node
from rclpy.serialization import deserialize_message
from trajectory_msgs.msg import JointTrajectory

from vla_ros.core.types import JointTrajectoryCommand
from vla_ros.ros.convert import trajectory_to_msg
from vla_ros.ros.qos import COMMAND_QOS
from vla_ros.ros.trajectory_wire import trajectory_to_cdr, WireFormat


def _command(names: tuple[str, ...], points: int, seed: int) -> JointTrajectoryCommand:
    rng = np.random.default_rng(seed)
    times = 0.1 * np.arange(1, points + 1)  # as the planner makes them; 1.0 s from 10 points
    return JointTrajectoryCommand(names, times, rng.normal(size=(points, len(names))),
                                  rng.normal(size=(points, len(names))))


@pytest.mark.parametrize('points', [1, 2, 10, 50])
@pytest.mark.parametrize('names', [
    ('gripper_joint',),
    ('joint1', 'joint2', 'joint3', 'joint4', 'joint5', 'joint6'),
    ('left_waist', 'left_shoulder', 'left_elbow', 'left_forearm_roll', 'left_wrist_angle',
     'left_wrist_rotate', 'left_gripper', 'x'),
    ('a', 'bb', 'ccc', 'dddd', 'eeeee', 'ffffff', 'ggggggg'),
])
def test_bytes_read_back_as_the_message(names: tuple[str, ...], points: int) -> None:
    command = _command(names, points, seed=points)

    encoded = trajectory_to_cdr(command)

    assert encoded is not None
    decoded = deserialize_message(encoded, JointTrajectory)
    assert decoded == trajectory_to_msg(command)
    # A changed value shows: the comparison above is not vacuous.
    command.positions[-1, -1] += 1e-9
    assert deserialize_message(encoded, JointTrajectory) != trajectory_to_msg(command)


def test_every_name_length_alignment_reads_back() -> None:
    """The first point starts on or off the 8-byte grid depending on the names' lengths."""
    for length in range(1, 17):
        names = ('j' * length, 'k' * (length + 3))
        command = _command(names, 5, seed=length)
        assert deserialize_message(trajectory_to_cdr(command), JointTrajectory) == \
            trajectory_to_msg(command), length


def test_without_velocities_the_caller_builds_the_message() -> None:
    command = JointTrajectoryCommand(('joint1',), np.array([0.05]), np.zeros((1, 1)))
    assert trajectory_to_cdr(command) is None


def test_this_middleware_takes_the_bytes() -> None:
    wire = WireFormat.probe()
    assert wire.raw, wire.reason


def test_published_bytes_arrive_as_the_message(graph, collect) -> None:
    node = graph.add(Node, node_name='wire')
    received = collect()
    node.create_subscription(JointTrajectory, 'arm_controller/joint_trajectory', received,
                             COMMAND_QOS)
    publisher = node.create_publisher(JointTrajectory, 'arm_controller/joint_trajectory',
                                      COMMAND_QOS)
    command = _command(('joint1', 'joint2', 'joint3'), 50, seed=7)
    encoded = trajectory_to_cdr(command)
    assert encoded is not None

    deadline = time.monotonic() + WAIT_S
    while not received.messages and time.monotonic() < deadline:
        publisher.publish(encoded)  # again until the subscription has matched
        time.sleep(0.1)

    messages = received.wait_for(bool, timeout_s=1.0)
    assert messages[0] == trajectory_to_msg(command)
