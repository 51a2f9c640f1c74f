# SPDX-License-Identifier: Apache-2.0
# Copyright 2026 The vla_ros authors
"""The simulated robot over real DDS: it follows JointTrajectory messages like a JTC."""

from __future__ import annotations

from node_test_constants import SIM_HOME
import numpy as np
from rosgraph_msgs.msg import Clock
from sensor_msgs.msg import Image, JointState
from trajectory_msgs.msg import JointTrajectory

from vla_ros.core.types import JointTrajectoryCommand
from vla_ros.ros.convert import image_from_msg, trajectory_to_msg
from vla_ros.ros.qos import COMMAND_QOS, SENSOR_QOS


def test_joints_follow_a_trajectory_matched_by_name(start_nodes, collect):
    probe = start_nodes('sim')
    joints = collect()
    probe.create_subscription(JointState, 'joint_states', joints, SENSOR_QOS)
    arm = probe.create_publisher(JointTrajectory, 'arm_controller/joint_trajectory', COMMAND_QOS)
    joints.wait_for(lambda msgs: len(msgs) > 0)
    shuffled = ('joint6', 'joint2', 'joint4', 'joint1', 'joint5', 'joint3')
    goal = {'joint1': 0.3, 'joint2': 0.2, 'joint3': 1.5, 'joint4': -0.2, 'joint5': 0.9,
            'joint6': 0.4}
    command = JointTrajectoryCommand(shuffled, np.array([0.5, 1.0]),
                                     np.array([[goal[j] / 2 for j in shuffled],
                                               [goal[j] for j in shuffled]]))

    arm.publish(trajectory_to_msg(command))

    def reached(msgs: list) -> bool:
        latest = dict(zip(msgs[-1].name, msgs[-1].position))
        return all(abs(latest[j] - value) < 0.02 for j, value in goal.items())
    final = dict(zip(joints.wait_for(reached)[-1].name, joints.messages[-1].position))
    assert abs(final['gripper_joint'] - SIM_HOME[-1]) < 0.005  # the other controller held


def test_cameras_and_clock_are_published(start_nodes, collect):
    probe = start_nodes('sim')
    images, clock = collect(), collect()
    probe.create_subscription(Image, 'camera/front/image_raw', images, SENSOR_QOS)
    probe.create_subscription(Clock, '/clock', clock, 10)

    image = image_from_msg(images.wait_for(lambda msgs: len(msgs) > 0)[0], where='test')
    ticks = clock.wait_for(lambda msgs: len(msgs) > 10)

    assert image.shape == (64, 64, 3) and image.std() > 10.0  # a scene, not a blank frame
    stamps = [msg.clock.sec + 1e-9 * msg.clock.nanosec for msg in ticks]
    assert np.all(np.diff(stamps) > 0.0)
