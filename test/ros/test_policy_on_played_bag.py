# SPDX-License-Identifier: Apache-2.0
# Copyright 2026 The vla_ros authors
"""The policy node runs on a played bag as on live sensors, and holds when the bag stops."""

from __future__ import annotations

from node_test_constants import ARM_JOINTS, SIM_HOME
import numpy as np
from rclpy.parameter import Parameter
from rclpy.serialization import serialize_message
from sensor_msgs.msg import Image, JointState
from trajectory_msgs.msg import JointTrajectory

from vla_ros.data import BagWriter, MessageTypes
from vla_ros.msg import PolicyStatus
from vla_ros.ros.clients import set_instruction
from vla_ros.ros.nodes.player_node import PlayerNode
from vla_ros.ros.qos import COMMAND_QOS, STATUS_QOS

T0_NS = 1_700_000_000_000_000_000
JOINTS = [*ARM_JOINTS, 'gripper_joint']
MAX_STEP_RAD = 0.2  # safety.max_step_rad of the test config


def _write_sensor_bag(path) -> None:
    """2 s of the sim's sensors: joint states at 50 Hz at home, two cameras at 10 Hz."""
    rng = np.random.default_rng(0)
    with BagWriter(path, message_types=MessageTypes()) as writer:
        for index in range(100):
            stamp_ns = T0_NS + index * 20_000_000
            writer.write('/joint_states', 'sensor_msgs/msg/JointState', stamp_ns,
                         serialize_message(JointState(name=JOINTS, position=list(SIM_HOME),
                                                      velocity=[0.0] * len(JOINTS))))
            if index % 5 == 0:
                for camera in ('front', 'wrist'):
                    pixels = rng.integers(0, 256, (64, 64, 3), dtype=np.uint8)
                    writer.write(f'/camera/{camera}/image_raw', 'sensor_msgs/msg/Image',
                                 stamp_ns + 1_000_000, serialize_message(Image(
                                     height=64, width=64, encoding='rgb8', step=192,
                                     data=pixels.tobytes())))


def test_policy_commands_from_a_played_bag_and_holds_when_it_ends(start_nodes, graph,
                                                                 collect, tmp_path):
    probe = start_nodes('policy')
    arm, statuses = collect(), collect()
    probe.create_subscription(JointTrajectory, 'arm_controller/joint_trajectory', arm,
                              COMMAND_QOS)
    probe.create_subscription(PolicyStatus, 'vla/status', statuses, STATUS_QOS)
    _write_sensor_bag(tmp_path / 'sensors')
    assert set_instruction(probe, 'touch the red cube').accepted

    player = graph.add(PlayerNode, parameter_overrides=[
        Parameter('bag', value=str(tmp_path / 'sensors')), Parameter('loop', value=True),
        Parameter('wait_for_subscribers_s', value=10.0)])
    commands = arm.wait_for(lambda msgs: len(msgs) >= 2)
    running = statuses.wait_for(lambda msgs: msgs[-1].chunks_published >= 2)[-1]
    player.stop()
    holding = statuses.wait_for(lambda msgs: msgs[-1].state == PolicyStatus.STATE_ERROR)[-1]

    assert player.error is None and all(count > 0 for count in player.published().values())
    assert (running.state, running.instruction) == (PolicyStatus.STATE_RUNNING,
                                                    'touch the red cube')
    for msg in commands:
        assert tuple(msg.joint_names) == ARM_JOINTS
        first = np.array(msg.points[0].positions)
        assert np.all(np.abs(first - np.array(SIM_HOME[:6])) <= MAX_STEP_RAD + 1e-9)
    assert 'is stale' in holding.last_error  # the bag stopped: the node holds, as live
