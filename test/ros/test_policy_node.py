# SPDX-License-Identifier: Apache-2.0
# Copyright 2026 The vla_ros authors
"""The policy node over real DDS: instruction service, action goals, cancel, bad input."""

from __future__ import annotations

import threading

from diagnostic_msgs.msg import DiagnosticArray
from node_test_constants import ARM_JOINTS, WAIT_S
import numpy as np
from rclpy.action import ActionClient
import rclpy.time
from rosgraph_msgs.msg import Clock
from sensor_msgs.msg import Image, JointState
from std_srvs.srv import Trigger
from trajectory_msgs.msg import JointTrajectory

from vla_ros.action import ExecuteInstruction
from vla_ros.msg import PolicyStatus
from vla_ros.ros.clients import call_service, set_instruction
from vla_ros.ros.qos import COMMAND_QOS, SENSOR_QOS, STATUS_QOS


def _seconds(duration) -> float:
    return duration.sec + 1e-9 * duration.nanosec


def _wait(future, timeout_s: float = WAIT_S):
    done = threading.Event()
    future.add_done_callback(lambda _f: done.set())
    assert done.wait(timeout_s), 'future did not complete in time'
    return future.result()


def test_instruction_service_starts_trajectories_for_each_controller(start_nodes, collect):
    probe = start_nodes('sim', 'policy')
    arm, gripper = collect(), collect()
    probe.create_subscription(JointTrajectory, 'arm_controller/joint_trajectory', arm,
                              COMMAND_QOS)
    probe.create_subscription(JointTrajectory, 'gripper_controller/joint_trajectory', gripper,
                              COMMAND_QOS)

    response = set_instruction(probe, '  touch the red cube ', timeout_s=WAIT_S)

    assert response.accepted, response.message
    assert "'touch the red cube'" in response.message
    msg = arm.wait_for(lambda msgs: len(msgs) >= 1)[0]  # no hold first: nothing moved yet
    assert tuple(msg.joint_names) == ARM_JOINTS
    assert (msg.header.stamp.sec, msg.header.stamp.nanosec) == (0, 0)  # start on arrival
    times = [_seconds(point.time_from_start) for point in msg.points]
    assert len(times) == 3 and times[0] > 0.0 and np.all(np.diff(times) > 0.0)
    assert all(len(point.velocities) == 6 for point in msg.points)
    assert list(gripper.wait_for(lambda msgs: len(msgs) >= 1)[0].joint_names) == ['gripper_joint']


def test_blank_instruction_is_refused_with_a_message(start_nodes):
    probe = start_nodes('policy')

    response = set_instruction(probe, ' \t ', timeout_s=WAIT_S)

    assert not response.accepted
    assert 'instruction is empty' in response.message


def test_action_goal_sends_feedback_and_succeeds(start_nodes, collect):
    probe = start_nodes('sim', 'policy')
    client = ActionClient(probe, ExecuteInstruction, 'vla/execute')
    assert client.wait_for_server(timeout_sec=WAIT_S)
    feedback = collect()

    handle = _wait(client.send_goal_async(
        ExecuteInstruction.Goal(instruction='touch the blue cube', timeout_s=4.0),
        feedback_callback=lambda msg: feedback(msg.feedback)))
    result = _wait(handle.get_result_async()).result

    assert handle.accepted
    assert result.success, result.message
    assert result.chunks_executed >= 1
    last = feedback.messages[-1]
    assert last.chunks_executed >= 1 and last.last_inference_latency_ms > 0.0
    states = [f.state for f in feedback.messages]
    assert PolicyStatus.STATE_RUNNING in states
    # Before the first image, or when a frame comes late under load, a cycle fails on its
    # input (STATE_ERROR, holding) and the goal goes on; it never stops (idle or holding).
    assert set(states) <= {PolicyStatus.STATE_RUNNING, PolicyStatus.STATE_ERROR}, states
    elapsed_s = [f.elapsed_s for f in feedback.messages]
    assert elapsed_s == sorted(elapsed_s)


def test_cancel_holds_the_arm_still(start_nodes, collect):
    probe = start_nodes('sim', 'policy')
    client = ActionClient(probe, ExecuteInstruction, 'vla/execute')
    assert client.wait_for_server(timeout_sec=WAIT_S)
    feedback, joints = collect(), collect()
    probe.create_subscription(JointState, 'joint_states', joints, SENSOR_QOS)
    handle = _wait(client.send_goal_async(
        ExecuteInstruction.Goal(instruction='touch the red cube', timeout_s=60.0),
        feedback_callback=lambda msg: feedback(msg.feedback)))
    feedback.wait_for(lambda msgs: msgs and msgs[-1].chunks_executed >= 2)

    _wait(handle.cancel_goal_async())
    result = _wait(handle.get_result_async())
    settle = len(joints.wait_for(lambda msgs: True))
    joints.wait_for(lambda msgs: len(msgs) >= settle + 25)  # 0.5 s at 50 Hz to settle
    start = len(joints.messages)
    after = joints.wait_for(lambda msgs: len(msgs) >= start + 75)[start:]  # 1.5 s more

    assert result.result.message == 'canceled'
    positions = np.array([msg.position for msg in after])
    assert np.abs(positions - positions[0]).max() < 2e-3  # rad: holding, not drifting


def test_second_goal_preempts_the_running_one(start_nodes):
    probe = start_nodes('policy')
    client = ActionClient(probe, ExecuteInstruction, 'vla/execute')
    assert client.wait_for_server(timeout_sec=WAIT_S)
    first = _wait(client.send_goal_async(
        ExecuteInstruction.Goal(instruction='touch the red cube', timeout_s=60.0)))
    first_result = first.get_result_async()

    second = _wait(client.send_goal_async(
        ExecuteInstruction.Goal(instruction='touch the green cube', timeout_s=0.5)))

    assert first.accepted and second.accepted
    assert _wait(first_result).result.message == 'pre-empted'
    assert _wait(second.get_result_async()).result.message != 'pre-empted'


def test_goal_duration_is_counted_on_the_simulated_clock(start_nodes):
    # A simulator at a quarter of real time: the goal must last 1 s of /clock (4 s of wall
    # time), as the chunks do; counted on the wall clock it would end at 0.25 s of /clock.
    probe = start_nodes('policy', use_sim_time=True)
    clock_pub = probe.create_publisher(Clock, '/clock', 10)
    sim_ns = [1_000_000_000]

    def tick() -> None:
        sim_ns[0] += 12_500_000  # 12.5 ms of simulated time per 50 ms of wall time
        clock_pub.publish(Clock(clock=rclpy.time.Time(nanoseconds=sim_ns[0]).to_msg()))

    probe.create_timer(0.05, tick)
    client = ActionClient(probe, ExecuteInstruction, 'vla/execute')
    assert client.wait_for_server(timeout_sec=WAIT_S)
    sent_ns = sim_ns[0]  # the node's clock lags what was published, never leads it

    handle = _wait(client.send_goal_async(
        ExecuteInstruction.Goal(instruction='touch the red cube', timeout_s=1.0)))
    result = _wait(handle.get_result_async()).result

    ran_s = (sim_ns[0] - sent_ns) * 1e-9
    # No camera here, so no chunk: the goal runs its time out, then reports it moved nothing.
    assert result.message.startswith('aborted: no chunk executed in 1 s; last error: '), (
        result.message)
    # At least 1 s of /clock; the upper bound leaves 8 s of wall time for the result to arrive
    # on a loaded machine, and still fails a goal that counted /clock at a fraction of its rate.
    assert 1.0 <= ran_s < 3.0, ran_s


def test_blank_goal_is_rejected_and_explained_in_status(start_nodes, collect):
    probe = start_nodes('policy')
    status = collect()
    probe.create_subscription(PolicyStatus, 'vla/status', status, STATUS_QOS)
    client = ActionClient(probe, ExecuteInstruction, 'vla/execute')
    assert client.wait_for_server(timeout_sec=WAIT_S)

    handle = _wait(client.send_goal_async(ExecuteInstruction.Goal(instruction='', timeout_s=1.0)))

    assert not handle.accepted
    status.wait_for(lambda msgs: any('goal rejected' in m.last_error for m in msgs))


def _image(encoding: str, width: int, height: int, channels: int) -> Image:
    msg = Image(encoding=encoding, width=width, height=height, step=width * channels)
    msg.data = bytes(width * height * channels)
    return msg


def test_unknown_encoding_and_wrong_size_are_reported_and_node_stays_up(start_nodes, collect):
    probe = start_nodes('policy')
    status = collect()
    probe.create_subscription(PolicyStatus, 'vla/status', status, STATUS_QOS)
    camera = probe.create_publisher(Image, 'camera/front/image_raw', SENSOR_QOS)

    stop = threading.Event()

    def publish_until(msg: Image, text: str) -> None:
        timer = probe.create_timer(0.1, lambda: camera.publish(msg))
        status.wait_for(lambda msgs: any(text in m.last_error for m in msgs))
        probe.destroy_timer(timer)

    publish_until(_image('yuv422', 64, 64, 2), "unsupported encoding 'yuv422'")
    publish_until(_image('rgb8', 32, 24, 3), 'is 32x24 (WxH), expected 64x64')
    stop.set()

    assert set_instruction(probe, 'touch the red cube', timeout_s=WAIT_S).accepted


def test_stop_refuses_motion_until_resume(start_nodes):
    probe = start_nodes('policy')
    assert set_instruction(probe, 'touch the red cube', timeout_s=WAIT_S).accepted

    stopped = call_service(probe, Trigger, 'vla/stop', Trigger.Request(), timeout_s=WAIT_S)
    refused = set_instruction(probe, 'touch the red cube', timeout_s=WAIT_S)
    resumed = call_service(probe, Trigger, 'vla/resume', Trigger.Request(), timeout_s=WAIT_S)
    accepted = set_instruction(probe, 'touch the red cube', timeout_s=WAIT_S)

    assert stopped.success and resumed.success
    assert not refused.accepted and 'call vla/resume first' in refused.message
    assert accepted.accepted, accepted.message


def test_dry_run_previews_trajectories_and_commands_nothing(start_nodes, collect):
    probe = start_nodes('sim', 'policy', execution__dry_run=True)
    preview, command, status = collect(), collect(), collect()
    probe.create_subscription(JointTrajectory, 'vla/preview/arm_controller/joint_trajectory',
                              preview, COMMAND_QOS)
    probe.create_subscription(JointTrajectory, 'arm_controller/joint_trajectory', command,
                              COMMAND_QOS)
    probe.create_subscription(PolicyStatus, 'vla/status', status, STATUS_QOS)

    assert set_instruction(probe, 'touch the red cube', timeout_s=WAIT_S).accepted

    preview.wait_for(lambda msgs: any(len(m.points) == 3 for m in msgs))
    assert command.messages == []
    assert status.wait_for(lambda msgs: len(msgs) > 0)[-1].dry_run


def test_status_and_diagnostics_report_the_node(start_nodes, collect):
    probe = start_nodes('policy')
    diagnostics = collect()
    probe.create_subscription(DiagnosticArray, '/diagnostics', diagnostics, STATUS_QOS)
    stopped = call_service(probe, Trigger, 'vla/stop', Trigger.Request(), timeout_s=WAIT_S)

    latest = diagnostics.wait_for(lambda msgs: any(
        dict((kv.key, kv.value) for kv in m.status[0].values)['stopped'] == 'True'
        for m in msgs))[-1].status[0]

    assert stopped.success
    assert latest.name == '/vla_policy_node'
    assert latest.message == 'stopped by vla/stop'
