# SPDX-License-Identifier: Apache-2.0
# Copyright 2026 The vla_ros authors
"""The ``vla/execute`` goals over real DDS: how a goal ends follows the runner's fault.

A real node serves the goals with ``InstructionGoals`` and a real ``PolicyRunner`` on the
tabletop arm's URDF limits; an action client on another node sends the goals. ``ArmPolicy`` is
a small real policy (it keeps the arm where it is measured) that the test can make misbehave:
a bug (KeyError, an internal fault, which ends the goal) or NaN output (an input fault, which
the runner retries and the goal rides out).
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
import enum
from pathlib import Path
import threading
import time

from node_test_constants import SIM_HOME, WAIT_S
import numpy as np
import pytest
from rclpy.action import ActionClient
from rclpy.callback_groups import ReentrantCallbackGroup
from rclpy.node import Node

from vla_ros.action import ExecuteInstruction
from vla_ros.core.config import CameraConfig, SafetyConfig
from vla_ros.core.observation_buffer import ObservationBuffer
from vla_ros.core.policy import PolicySpec
from vla_ros.core.types import ActionChunk, JointTrajectoryCommand, NodeState, Observation
from vla_ros.execution.joint_limits import load_urdf_limits
from vla_ros.execution.runner import PolicyRunner
from vla_ros.execution.runner_status import RunnerStatus
from vla_ros.msg import PolicyStatus
from vla_ros.ros.in_process import InProcessGraph
from vla_ros.ros.instruction_goals import GoalEnd, GoalOutcome, InstructionGoals

ARM = ('joint1', 'joint2', 'joint3', 'joint4', 'joint5', 'joint6')
JOINTS = (*ARM, 'gripper_joint')
CONTROLLERS = {'arm_controller': ARM, 'gripper_controller': ('gripper_joint',)}
CAMERA = CameraConfig(name='front', topic='camera/front/image_raw', width=8, height=6)


class Misbehaviour(enum.Enum):
    """What ArmPolicy does wrong."""

    NONE = 'none'
    BUG = 'bug'
    NAN = 'nan'


class ArmPolicy:
    """Keeps every joint where it is measured, for four 0.1 s steps; misbehaves when told."""

    def __init__(self, misbehaviour: Misbehaviour) -> None:
        self.misbehaviour = misbehaviour
        self.spec = PolicySpec(joint_names=JOINTS, camera_names=(CAMERA.name,),
                               image_height=CAMERA.height, image_width=CAMERA.width,
                               chunk_length=4, dt_s=0.1)

    def infer(self, observation: Observation) -> ActionChunk:
        """The chunk; raises KeyError for BUG, PolicyOutputError (from ActionChunk) for NAN."""
        if self.misbehaviour is Misbehaviour.BUG:
            raise KeyError('joint9')
        positions = np.tile(observation.positions_for(JOINTS), (self.spec.chunk_length, 1))
        if self.misbehaviour is Misbehaviour.NAN:
            positions[0, 0] = np.nan
        return ActionChunk(JOINTS, positions, dt_s=self.spec.dt_s)


@dataclass
class GoalServer:
    """The node serving the goals, its runner and a client node's action client."""

    runner: PolicyRunner
    client: ActionClient

    def execute(self, instruction: str, timeout_s: float
                ) -> tuple[ExecuteInstruction.Result, list[ExecuteInstruction.Feedback]]:
        """Send a goal, wait for its result; the result and the feedback received."""
        feedback: list[ExecuteInstruction.Feedback] = []
        handle = _wait(self.client.send_goal_async(
            ExecuteInstruction.Goal(instruction=instruction, timeout_s=timeout_s),
            feedback_callback=lambda msg: feedback.append(msg.feedback)))
        assert handle.accepted
        return _wait(handle.get_result_async()).result, feedback


def _wait(future, timeout_s: float = WAIT_S):
    done = threading.Event()
    future.add_done_callback(lambda _f: done.set())
    assert done.wait(timeout_s), 'future did not complete in time'
    return future.result()


@pytest.fixture
def serve(graph: InProcessGraph, repo_root: Path) -> Iterator:
    """Starts a goal server whose runner runs ``ArmPolicy(misbehaviour)``; closes it after."""
    closers = []

    def start(misbehaviour: Misbehaviour) -> GoalServer:
        buffer = ObservationBuffer((CAMERA,), stale_after_s=600.0, clock=time.monotonic)
        buffer.put_image(CAMERA.name, np.zeros((CAMERA.height, CAMERA.width, 3), np.uint8))
        buffer.put_joint_state(JOINTS, SIM_HOME)
        runner = PolicyRunner(
            policy=ArmPolicy(misbehaviour), buffer=buffer, controllers=CONTROLLERS,
            limits=load_urdf_limits(repo_root / 'urdf' / 'tabletop_arm.urdf'),
            safety=SafetyConfig(stale_after_s=600.0), sink=_discard, on_status=_ignore)
        host = graph.add(Node, node_name='goal_server')
        goals = InstructionGoals(host, runner, start=runner.start, refusal=lambda: None,
                                 callback_group=ReentrantCallbackGroup(), clock=time.monotonic)
        closers.extend([runner.close, goals.destroy])
        client = ActionClient(graph.add(Node, node_name='goal_client'), ExecuteInstruction,
                              'vla/execute')
        assert client.wait_for_server(timeout_sec=WAIT_S)
        return GoalServer(runner, client)

    yield start
    for close in reversed(closers):
        close()


def _discard(_controller: str, _command: JointTrajectoryCommand) -> None:
    """The trajectory sink: this test looks at goals, not trajectories."""


def _ignore(_status: RunnerStatus) -> None:
    """The status callback: the test reads ``runner.status``."""


def test_an_internal_fault_aborts_the_goal_with_the_error(serve) -> None:
    server = serve(Misbehaviour.BUG)

    result, _ = server.execute('touch the red cube', timeout_s=30.0)

    assert not result.success
    assert result.message == "aborted: internal error: KeyError('joint9')"
    assert server.runner.status.state is NodeState.ERROR


def test_an_input_fault_is_ridden_out_until_the_goal_times_out_then_aborts_it(serve) -> None:
    # Not one chunk in the whole goal: "succeeded" would tell the client the arm did its job.
    server = serve(Misbehaviour.NAN)

    result, feedback = server.execute('touch the red cube', timeout_s=1.0)

    assert not result.success
    assert result.message.startswith('aborted: no chunk executed in 1 s; last error: '), (
        result.message)
    assert 'NaN' in result.message or 'nan' in result.message, result.message
    assert result.chunks_executed == 0
    assert PolicyStatus.STATE_ERROR in [msg.state for msg in feedback]
    assert server.runner.status.state is NodeState.HOLDING  # held at the goal's end


def test_a_goal_runs_the_instruction_it_came_with_normalised(serve) -> None:
    server = serve(Misbehaviour.NONE)

    result, _ = server.execute('  touch the blue cube \n', timeout_s=0.5)

    assert result.message == 'succeeded' and result.chunks_executed >= 1
    assert server.runner.status.instruction == 'touch the blue cube'


@pytest.mark.parametrize(('end', 'message'), [
    (GoalEnd(GoalOutcome.SUCCEEDED), 'succeeded'),
    (GoalEnd(GoalOutcome.CANCELED), 'canceled'),
    (GoalEnd(GoalOutcome.PREEMPTED), 'pre-empted'),
    (GoalEnd(GoalOutcome.ABORTED), 'aborted'),
    (GoalEnd.aborted('deactivated'), 'aborted: deactivated'),
], ids=['succeeded', 'canceled', 'pre-empted', 'aborted', 'aborted-with-reason'])
def test_goal_end_message_is_the_outcome_then_the_reason(end: GoalEnd, message: str) -> None:
    assert end.message == message
