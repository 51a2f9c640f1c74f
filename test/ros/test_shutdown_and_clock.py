# SPDX-License-Identifier: Apache-2.0
# Copyright 2026 The vla_ros authors
"""Ending a goal from outside: Ctrl-C or SIGTERM of the process, a stopped or a rewound /clock.

The signals go to real processes (`vla-ros sim`, the policy node's executable) on a DDS domain
of their own; the clock faults come from a test node that plays the simulator (/clock, joint
states, camera frames) for a policy node on ``use_sim_time``.
"""

from __future__ import annotations

import os
from pathlib import Path
import signal
import subprocess
import sys
import threading

from ament_index_python.packages import get_package_prefix
from node_test_constants import fresh_domain_id, SIM_HOME, WAIT_S
import pytest
from rclpy.action import ActionClient
from rclpy.node import Node
from rclpy.parameter import Parameter
import rclpy.time
from rosgraph_msgs.msg import Clock
from sensor_msgs.msg import Image, JointState

from vla_ros.action import ExecuteInstruction
from vla_ros.msg import PolicyStatus
from vla_ros.ros.in_process import InProcessGraph
from vla_ros.ros.nodes.sim_node import SimNode
from vla_ros.ros.qos import SENSOR_QOS, STATUS_QOS
from vla_ros.srv import SetInstruction

#: Longest wait for a node process to load its policy and serve goals, seconds (a deadline).
STARTUP_S = 120.0
#: Longest wait for a signalled process to exit, seconds; a hang fails the test here.
EXIT_S = 60.0
JOINTS = ('joint1', 'joint2', 'joint3', 'joint4', 'joint5', 'joint6', 'gripper_joint')
CAMERA_TOPICS = ('camera/front/image_raw', 'camera/wrist/image_raw')


def _wait(future, timeout_s: float = WAIT_S, why: str = ''):
    done = threading.Event()
    future.add_done_callback(lambda _f: done.set())
    assert done.wait(timeout_s), f'future did not complete in time {why}'
    return future.result()


def _stamp_s(msg: PolicyStatus) -> float:
    return msg.header.stamp.sec + 1e-9 * msg.header.stamp.nanosec


def _goal(timeout_s: float) -> ExecuteInstruction.Goal:
    return ExecuteInstruction.Goal(instruction='touch the red cube', timeout_s=timeout_s)


def _default_signals() -> None:
    """In the child: Ctrl-C as in a terminal, even when this test run ignores it."""
    signal.signal(signal.SIGINT, signal.SIG_DFL)


class _GoalUnderSignal:
    """A probe's goal to a policy node in a child process, and the child's end on a signal."""

    def __init__(self, probe: Node, collect: type) -> None:
        self.status = collect()
        self.feedback = collect()
        probe.create_subscription(PolicyStatus, 'vla/status', self.status, STATUS_QOS)
        self._client = ActionClient(probe, ExecuteInstruction, 'vla/execute')
        self._instruct = probe.create_client(SetInstruction, 'vla/set_instruction')
        self._instruct = probe.create_client(SetInstruction, 'vla/set_instruction')

    def run(self, child: subprocess.Popen[str], signum: int) -> tuple[object, str]:
        """Start a long goal, signal ``child`` once chunks flow; returns (result, stderr)."""
        try:
            assert self._client.wait_for_server(timeout_sec=STARTUP_S), 'no vla/execute'
            handle = _wait(self._client.send_goal_async(
                _goal(600.0), feedback_callback=lambda msg: self.feedback(msg.feedback)))
            assert handle.accepted
            result = handle.get_result_async()
            self.feedback.wait_for(lambda msgs: msgs and msgs[-1].chunks_executed >= 1,
                                   timeout_s=2 * WAIT_S)

            child.send_signal(signum)
            _, stderr = child.communicate(timeout=EXIT_S)
        except BaseException:
            child.kill()  # never leave a node behind; show what it said
            sys.stderr.write(f'the child said:\n{child.communicate()[1]}')
            raise
        why = f'(exit code {child.returncode}; stderr:\n{stderr})'
        return _wait(result, why=why).result, stderr

    def held_for(self, reason: str) -> bool:
        """Whether the node reported holding for ``reason`` (the hold it sent on the way out)."""
        return any(msg.state == PolicyStatus.STATE_HOLDING and msg.last_error == reason
                   for msg in self.status.messages)


def test_ctrl_c_during_a_goal_ends_vla_ros_sim_after_a_hold_and_an_abort(config_file, collect):
    # It hung for good: stopping the executor waited for the goal's feedback loop, which
    # waited for the simulated clock, which had stopped with the executor.
    domain_id = fresh_domain_id()
    with InProcessGraph(domain_id=domain_id) as graph:
        goal = _GoalUnderSignal(graph.add(Node, node_name='probe'), collect)
        child = subprocess.Popen(
            ['vla-ros', 'sim', '--config', str(config_file)], stdout=subprocess.PIPE,
            stderr=subprocess.PIPE, text=True, preexec_fn=_default_signals,
            env=dict(os.environ, ROS_DOMAIN_ID=str(domain_id)))
        result, stderr = goal.run(child, signal.SIGINT)

    assert not graph.callback_errors, graph.callback_errors
    assert child.returncode == 0, stderr
    assert result.message == 'aborted: shutting down'
    assert not result.success
    assert goal.held_for('shutting down')


def test_sigterm_during_a_goal_ends_the_policy_node_executable_after_a_hold_and_an_abort(
        config_file, collect):
    # As ros2 launch stops it (SIGINT, then SIGTERM): SIGTERM killed it at once, without a
    # hold; SIGINT waited for a goal on a running clock until the goal's timeout.
    domain_id = fresh_domain_id()
    executable = Path(get_package_prefix('vla_ros')) / 'lib' / 'vla_ros' / 'vla_policy_node'
    with InProcessGraph(domain_id=domain_id) as graph:
        graph.add(SimNode, parameter_overrides=[Parameter('config_file', value=str(config_file))])
        goal = _GoalUnderSignal(graph.add(Node, node_name='probe'), collect)
        child = subprocess.Popen(
            [sys.executable, str(executable), '--ros-args', '-p', f'config_file:={config_file}',
             '-p', 'use_sim_time:=true'], stdout=subprocess.PIPE, stderr=subprocess.PIPE,
            text=True, preexec_fn=_default_signals,
            env=dict(os.environ, ROS_DOMAIN_ID=str(domain_id)))
        result, stderr = goal.run(child, signal.SIGTERM)

    assert not graph.callback_errors, graph.callback_errors
    assert child.returncode == 0, stderr
    assert result.message == 'aborted: shutting down'
    assert goal.held_for('shutting down')


class _SimulatedWorld:
    """Plays a simulator for the policy node: /clock, joint states at home and camera frames.

    A wall-clock timer advances simulated time in real time; ``stop`` ends all of it, as a
    killed simulator does, and ``rewind`` restarts time near zero, as a restarted one does.
    """

    PERIOD_NS = 20_000_000  # 50 Hz, as the sim node; frames every fifth tick (10 Hz)

    def __init__(self, probe: Node, *, start_s: float) -> None:
        self._lock = threading.Lock()
        self._now_ns = int(start_s * 1e9)
        self._running = True
        self._ticks = 0
        self._clock_pub = probe.create_publisher(Clock, '/clock', 10)
        self._joint_pub = probe.create_publisher(JointState, 'joint_states', SENSOR_QOS)
        self._camera_pubs = [probe.create_publisher(Image, topic, SENSOR_QOS)
                             for topic in CAMERA_TOPICS]
        probe.create_timer(self.PERIOD_NS * 1e-9, self._tick)

    def stop(self) -> float:
        """Publish nothing more; returns the last simulated time published, seconds."""
        with self._lock:
            self._running = False
            return self._now_ns * 1e-9

    def resume(self) -> None:
        """Publish again, time going on from where it stopped."""
        with self._lock:
            self._running = True

    def rewind(self, to_s: float) -> None:
        """Go on from ``to_s`` of simulated time."""
        with self._lock:
            self._now_ns = int(to_s * 1e9)

    def _tick(self) -> None:
        with self._lock:
            if not self._running:
                return
            self._now_ns += self.PERIOD_NS
            self._ticks += 1
            stamp = rclpy.time.Time(nanoseconds=self._now_ns).to_msg()
            frame = self._ticks % 5 == 0
        self._clock_pub.publish(Clock(clock=stamp))
        joints = JointState(name=list(JOINTS), position=[float(p) for p in SIM_HOME])
        joints.header.stamp = stamp
        self._joint_pub.publish(joints)
        if frame:
            for publisher in self._camera_pubs:
                image = Image(height=64, width=64, encoding='rgb8', step=64 * 3,
                              data=bytes(64 * 64 * 3))
                image.header.stamp = stamp
                publisher.publish(image)


class _ClockFaultScene:
    """A policy node on ``use_sim_time``, the world it sees, and a probe's status and goals."""

    def __init__(self, start_nodes, collect: type) -> None:
        probe = start_nodes('policy', use_sim_time=True)
        self.world = _SimulatedWorld(probe, start_s=100.0)
        self.status = collect()
        probe.create_subscription(PolicyStatus, 'vla/status', self.status, STATUS_QOS)
        self._client = ActionClient(probe, ExecuteInstruction, 'vla/execute')
        self._instruct = probe.create_client(SetInstruction, 'vla/set_instruction')
        self._long_goals: list = []
        assert self._client.wait_for_server(timeout_sec=WAIT_S)
        self.wait_for_node_time(99.0)  # the node runs on our /clock

    def wait_for_node_time(self, after_s: float) -> None:
        """Wait for a status stamped later than ``after_s`` (the node's clock passed it)."""
        self.status.wait_for(lambda msgs: bool(msgs) and _stamp_s(msgs[-1]) > after_s)

    def send(self, timeout_s: float):
        """Send a goal; returns its handle (accepted or not)."""
        return _wait(self._client.send_goal_async(_goal(timeout_s)))

    def set_instruction(self, instruction: str) -> SetInstruction.Response:
        """Call vla/set_instruction; returns the response."""
        assert self._instruct.wait_for_service(timeout_sec=WAIT_S)
        return _wait(self._instruct.call_async(SetInstruction.Request(instruction=instruction)))

    def start_goal_with_chunks(self, collect: type):
        """A long goal whose chunks flow; returns the future of its result."""
        feedback = collect()
        handle = _wait(self._client.send_goal_async(
            _goal(600.0), feedback_callback=lambda msg: feedback(msg.feedback)))
        assert handle.accepted
        self._long_goals.append(handle)
        result = handle.get_result_async()
        feedback.wait_for(lambda msgs: msgs and msgs[-1].chunks_executed >= 1)
        return result

    def cancel_long_goals(self) -> None:
        """Cancel the long goals, so that a node that never ended one can still be closed."""
        for handle in self._long_goals:
            _wait(handle.cancel_goal_async())

    def errors(self) -> list[str]:
        """The last_error of every ERROR status so far."""
        return [msg.last_error for msg in self.status.messages
                if msg.state == PolicyStatus.STATE_ERROR]


@pytest.fixture
def scene(start_nodes, collect):
    """The clock-fault scene; its long goals are cancelled before the graph closes."""
    clock_scene = _ClockFaultScene(start_nodes, collect)
    yield clock_scene
    clock_scene.cancel_long_goals()


def test_stopped_clock_holds_and_aborts_the_goal_and_goals_run_again_with_the_clock(
        scene, collect):
    # A killed simulator: its /clock stops, so nothing ever turned stale and the goal ran on.
    result = scene.start_goal_with_chunks(collect)

    stopped_at_s = scene.world.stop()
    aborted = _wait(result).result
    while_stopped = scene.send(timeout_s=3.0)
    instructed_while_stopped = scene.set_instruction('touch the red cube')
    scene.world.resume()
    scene.wait_for_node_time(stopped_at_s)
    again = scene.send(timeout_s=3.0)
    again_result = _wait(again.get_result_async()).result

    assert aborted.message.startswith('aborted: /clock stopped: no new time for more than 5 s'), \
        aborted.message
    assert any(error.startswith('/clock stopped') for error in scene.errors()), scene.errors()
    assert not while_stopped.accepted
    assert not instructed_while_stopped.accepted
    assert instructed_while_stopped.message.startswith('/clock stopped'), (
        instructed_while_stopped.message)
    assert again.accepted and again_result.success, again_result.message
    assert again_result.chunks_executed >= 1


def test_clock_jumping_back_holds_and_aborts_the_goal_and_a_new_goal_runs(scene, collect):
    # A restarted simulator: /clock went back to 0 and the old goal went on in the new world.
    result = scene.start_goal_with_chunks(collect)

    scene.world.rewind(to_s=0.5)
    aborted = _wait(result).result
    again = scene.send(timeout_s=3.0)
    again_result = _wait(again.get_result_async()).result

    assert aborted.message.startswith('aborted: /clock went back from 1'), aborted.message
    assert any(error.startswith('/clock went back') for error in scene.errors()), scene.errors()
    assert again.accepted and again_result.success, again_result.message
    assert again_result.chunks_executed >= 1
