# SPDX-License-Identifier: Apache-2.0
# Copyright 2026 The vla_ros authors
"""The VLA policy node: cameras + joint states + instruction -> joint trajectories.

Interfaces (names relative to the node's namespace):
    subscriptions: each configured camera topic (sensor_msgs/Image, or CompressedImage when
        the topic ends in ``/compressed``) and the joint-state topic, with sensor QoS.
    services: ``vla/set_instruction`` (vla_ros/SetInstruction) starts or switches the
        instruction and runs until stopped; ``vla/stop`` (std_srvs/Trigger) holds.
    action: ``vla/execute`` (vla_ros/ExecuteInstruction) runs an instruction for timeout_s.
        One goal at a time: a new goal (or a set_instruction call) pre-empts the running goal,
        which is aborted with the message 'pre-empted'. Cancel holds the current position.
    publishers: ``<controller>/joint_trajectory`` per configured controller, ``vla/status``.

The node holds no model or safety logic: it converts messages and calls the PolicyRunner.
"""

from __future__ import annotations

import dataclasses
from pathlib import Path
import threading
import time
from typing import Any

from diagnostic_msgs.msg import DiagnosticArray
from rcl_interfaces.msg import ParameterDescriptor
from rclpy.action.server import ActionServer, CancelResponse, GoalResponse, ServerGoalHandle
from rclpy.callback_groups import ReentrantCallbackGroup
from rclpy.node import Node
from sensor_msgs.msg import CompressedImage, Image, JointState
from std_srvs.srv import Trigger
from trajectory_msgs.msg import JointTrajectory

from vla_ros.action import ExecuteInstruction
from vla_ros.core.config import ExecutionConfig, load_config, PolicyConfig, VlaConfig
from vla_ros.core.errors import ConfigError, InputError, SafetyViolation
from vla_ros.core.instructions import normalize_instruction
from vla_ros.core.observation_buffer import ObservationBuffer
from vla_ros.core.types import JointTrajectoryCommand, NodeState
from vla_ros.execution.joint_limits import load_urdf_limits
from vla_ros.execution.runner import PolicyRunner, RunnerStatus
from vla_ros.msg import PolicyStatus
from vla_ros.policies.registry import load_policy
from vla_ros.policies.warm_up import warm_up
from vla_ros.ros.convert import (
    image_from_msg,
    status_to_diagnostics,
    status_to_msg,
    trajectory_to_msg,
)
from vla_ros.ros.node_main import run_node
from vla_ros.ros.qos import COMMAND_QOS, SENSOR_QOS, STATUS_QOS
from vla_ros.srv import SetInstruction

__all__ = ['PolicyNode', 'main']

#: The action's goal handle; the generated message types carry no static types.
GoalHandle = ServerGoalHandle[Any, Any, Any]

#: Period of action feedback and of the status heartbeat, seconds.
FEEDBACK_PERIOD_S = 0.2


class PolicyNode(Node):
    """Runs a VLA policy on live observations and commands ros2_control trajectory controllers."""

    def __init__(self, node_name: str = 'vla_policy_node', **kwargs: Any) -> None:
        super().__init__(node_name, **kwargs)
        self._config = self._load_config()
        config = self._config
        policy = load_policy(config.policy.family, config.policy.checkpoint,
                             device=config.policy.device)
        self._check_policy_fits(config, policy.spec.joint_names, policy.spec.camera_names)
        warm_up_ms = warm_up(policy)
        self._buffer = ObservationBuffer(config.embodiment.cameras,
                                         stale_after_s=config.safety.stale_after_s,
                                         clock=time.monotonic)
        prefix = 'vla/preview/' if self._dry_run else ''
        self._trajectory_pubs = {
            controller: self.create_publisher(
                JointTrajectory, f'{prefix}{controller}/joint_trajectory', COMMAND_QOS)
            for controller in config.embodiment.controllers}
        self._diagnostics_pub = self.create_publisher(DiagnosticArray, '/diagnostics',
                                                      STATUS_QOS)
        self._status_pub = self.create_publisher(PolicyStatus, 'vla/status', STATUS_QOS)
        self._runner = PolicyRunner(
            policy=policy, buffer=self._buffer, controllers=config.embodiment.controllers,
            limits=load_urdf_limits(config.embodiment.urdf), safety=config.safety,
            horizon=config.execution.horizon, sink=self._send_trajectory,
            on_status=self._publish_status)
        self._goal_lock = threading.Lock()
        self._active_goal: tuple[GoalHandle, threading.Event] | None = None
        group = ReentrantCallbackGroup()
        for camera in config.embodiment.cameras:
            msg_type = CompressedImage if camera.topic.endswith('/compressed') else Image
            self.create_subscription(
                msg_type, camera.topic,
                lambda msg, name=camera.name: self._on_image(name, msg), SENSOR_QOS)
        self._joint_state_sub = self.create_subscription(
            JointState, config.embodiment.joint_state_topic, self._on_joint_state, SENSOR_QOS)
        self._instruction_srv = self.create_service(
            SetInstruction, 'vla/set_instruction', self._on_set_instruction, callback_group=group)
        self._stop_srv = self.create_service(Trigger, 'vla/stop', self._on_stop,
                                             callback_group=group)
        self._resume_srv = self.create_service(Trigger, 'vla/resume', self._on_resume,
                                               callback_group=group)
        self._execute_action = ActionServer(
            self, ExecuteInstruction, 'vla/execute', execute_callback=self._on_execute,
            goal_callback=self._on_goal, handle_accepted_callback=self._on_goal_accepted,
            cancel_callback=lambda _goal: CancelResponse.ACCEPT, callback_group=group)
        self._heartbeat_timer = self.create_timer(
            1.0, lambda: self._publish_status(self._runner.status))
        self.get_logger().info(
            f'policy {config.policy.family!r} from {config.policy.checkpoint} ready '
            f'(warm-up inference {warm_up_ms:.0f} ms); '
            f'controllers {sorted(config.embodiment.controllers)}')

    def _load_config(self) -> VlaConfig:
        def declare(name: str, default: object, description: str) -> object:
            descriptor = ParameterDescriptor(description=description, read_only=True)
            return self.declare_parameter(name, default, descriptor).value

        path = declare('config_file', '', 'embodiment YAML (config/*.yaml); required')
        family = declare('policy.family', '', 'overrides policy.family of the config file')
        checkpoint = declare('policy.checkpoint', '', 'overrides policy.checkpoint')
        device = declare('policy.device', '', 'overrides policy.device (cpu, cuda, cuda:1)')
        horizon = declare('execution.horizon', 0, 'chunk steps executed per inference; 0: all')
        self._dry_run = bool(declare('execution.dry_run', False,
                                     'publish trajectories on vla/preview/... only'))
        if not path:
            raise ConfigError('parameter config_file is not set; pass -p config_file:=FILE.yaml')
        config = load_config(str(path))
        policy = PolicyConfig(family=str(family or config.policy.family),
                              checkpoint=Path(str(checkpoint)) if checkpoint
                              else config.policy.checkpoint,
                              device=str(device or config.policy.device))
        execution = ExecutionConfig(strategy=config.execution.strategy,
                                    horizon=int(str(horizon)) or config.execution.horizon)
        return dataclasses.replace(config, policy=policy, execution=execution)

    @staticmethod
    def _check_policy_fits(config: VlaConfig, joints: tuple[str, ...],
                           cameras: tuple[str, ...]) -> None:
        configured = {camera.name for camera in config.embodiment.cameras}
        if not set(cameras) <= configured:
            raise ConfigError(f'the policy reads cameras {sorted(set(cameras) - configured)} '
                              f'that embodiment.cameras does not define')
        commanded = {j for joints in config.embodiment.controllers.values() for j in joints}
        if set(joints) != commanded:
            raise ConfigError(f'the policy drives joints {list(joints)} but the controllers '
                              f'take {sorted(commanded)}')

    def _send_trajectory(self, controller: str, command: JointTrajectoryCommand) -> None:
        self._trajectory_pubs[controller].publish(trajectory_to_msg(command))

    def _publish_status(self, status: RunnerStatus) -> None:
        stamp = self.get_clock().now().to_msg()
        stopped = self._runner.stopped
        self._status_pub.publish(status_to_msg(status, stamp=stamp, stopped=stopped,
                                               dry_run=self._dry_run))
        self._diagnostics_pub.publish(status_to_diagnostics(
            status, name=self.get_fully_qualified_name(), stamp=stamp, stopped=stopped))

    def _on_image(self, camera: str, msg: Image | CompressedImage) -> None:
        try:
            self._buffer.put_image(camera, image_from_msg(msg, where=f'camera {camera!r}'))
        except InputError as err:
            self.get_logger().warning(str(err), throttle_duration_sec=2.0)
            self._runner.report_input_error(str(err))

    def _on_joint_state(self, msg: JointState) -> None:
        try:
            self._buffer.put_joint_state(msg.name, msg.position)
        except InputError as err:
            self.get_logger().warning(str(err), throttle_duration_sec=2.0)
            self._runner.report_input_error(str(err))

    def _on_set_instruction(self, request: SetInstruction.Request,
                            response: SetInstruction.Response) -> SetInstruction.Response:
        try:
            instruction = normalize_instruction(request.instruction)
        except InputError as err:
            response.accepted, response.message = False, str(err)
            return response
        self._preempt_active_goal()
        try:
            self._runner.start(instruction)
        except SafetyViolation as err:
            response.accepted, response.message = False, str(err)
            return response
        response.accepted, response.message = True, f'executing {instruction!r}'
        return response

    def _on_stop(self, _request: Trigger.Request, response: Trigger.Response) -> Trigger.Response:
        self._preempt_active_goal()
        self._runner.stop()
        response.success = True
        response.message = 'holding position; new motion is refused until vla/resume'
        return response

    def _on_resume(self, _request: Trigger.Request,
                   response: Trigger.Response) -> Trigger.Response:
        self._runner.resume()
        response.success, response.message = True, 'resumed; send an instruction to move'
        return response

    def _on_goal(self, goal: ExecuteInstruction.Goal) -> GoalResponse:
        try:
            normalize_instruction(goal.instruction)
            if not goal.timeout_s > 0.0:
                raise InputError(f'timeout_s is {goal.timeout_s!r}, expected > 0')
            if self._runner.stopped:
                raise SafetyViolation('motion is stopped (vla/stop); call vla/resume first')
        except (InputError, SafetyViolation) as err:
            self.get_logger().warning(f'rejecting goal: {err}')
            self._runner.report_input_error(f'goal rejected: {err}')
            return GoalResponse.REJECT
        return GoalResponse.ACCEPT

    def _on_goal_accepted(self, goal_handle: GoalHandle) -> None:
        self._preempt_active_goal()
        with self._goal_lock:
            self._active_goal = (goal_handle, threading.Event())
        goal_handle.execute()

    def _preempt_active_goal(self) -> None:
        with self._goal_lock:
            if self._active_goal is not None:
                self._active_goal[1].set()
                self._active_goal = None

    def _on_execute(self, goal_handle: GoalHandle) -> ExecuteInstruction.Result:
        with self._goal_lock:
            active = self._active_goal
        if active is None or active[0] is not goal_handle:
            goal_handle.abort()  # pre-empted before it began
            return ExecuteInstruction.Result(success=False, message='pre-empted')
        preempted = active[1]
        goal = goal_handle.request
        try:
            self._runner.start(normalize_instruction(goal.instruction))
        except SafetyViolation as err:  # stopped between acceptance and execution
            goal_handle.abort()
            return ExecuteInstruction.Result(success=False, message=f'aborted: {err}')
        started = time.monotonic()
        chunks_at_start = self._runner.status.chunks
        outcome = self._follow_goal(goal_handle, preempted, started, goal.timeout_s,
                                    chunks_at_start)
        status = self._runner.status
        result = ExecuteInstruction.Result(success=outcome == 'succeeded', message=outcome,
                                           chunks_executed=status.chunks - chunks_at_start)
        if outcome == 'succeeded':
            goal_handle.succeed()
        elif outcome == 'canceled':
            goal_handle.canceled()
        else:
            goal_handle.abort()
        with self._goal_lock:
            if self._active_goal and self._active_goal[0] is goal_handle:
                self._active_goal = None
        return result

    def _follow_goal(self, goal_handle: GoalHandle, preempted: threading.Event,
                     started: float, timeout_s: float, chunks_at_start: int) -> str:
        """Publish feedback until the goal ends; returns the outcome as the result message."""
        while True:
            if preempted.wait(timeout=FEEDBACK_PERIOD_S):
                return 'pre-empted'
            elapsed_s = time.monotonic() - started
            status = self._runner.status
            if goal_handle.is_cancel_requested:
                self._runner.hold('goal cancelled')
                return 'canceled'
            if not goal_handle.is_active:
                return 'aborted'
            if status.state is NodeState.ERROR and status.last_error.startswith('internal'):
                return f'aborted: {status.last_error}'
            if status.state is not NodeState.RUNNING and status.state is not NodeState.ERROR:
                return f'aborted: policy stopped ({status.last_error})'
            goal_handle.publish_feedback(ExecuteInstruction.Feedback(
                chunks_executed=status.chunks - chunks_at_start,
                last_inference_latency_ms=status.last_latency_ms, state=status.state.value,
                elapsed_s=elapsed_s))
            if elapsed_s >= timeout_s:
                self._runner.hold()
                return 'succeeded'

    def destroy_node(self) -> None:
        """Hold the robot and stop the inference worker before the node goes away."""
        self._runner.close()
        super().destroy_node()


def main(args: list[str] | None = None) -> int:
    """Entry point of ``ros2 run vla_ros vla_policy_node``."""
    return run_node(PolicyNode, name='vla_policy_node', args=args)


if __name__ == '__main__':
    raise SystemExit(main())
