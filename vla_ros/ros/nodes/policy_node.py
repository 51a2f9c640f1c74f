# SPDX-License-Identifier: Apache-2.0
# Copyright 2026 The vla_ros authors
"""The VLA policy node: cameras + joint states + instruction -> joint trajectories.

A lifecycle node. ``configure`` loads the config and the policy, warms it up and creates the
interfaces below; ``activate`` starts commanding (instructions and goals are accepted);
``deactivate`` holds the measured position and refuses motion; ``cleanup`` frees the model.
With the parameter ``autostart`` (default true) the constructor configures and activates, so
``ros2 run`` and the in-process graphs need no lifecycle manager.

Interfaces (names relative to the node's namespace), from ``configure`` to ``cleanup``:
    subscriptions: each configured camera topic (sensor_msgs/Image, or CompressedImage when
        the topic ends in ``/compressed``) and the joint-state topic, with sensor QoS.
    services: ``vla/set_instruction`` (vla_ros/SetInstruction) starts or switches the
        instruction and runs until stopped; ``vla/stop`` (std_srvs/Trigger) holds and refuses
        motion until ``vla/resume``.
    action: ``vla/execute`` (vla_ros/ExecuteInstruction), see ``instruction_goals``.
    publishers (lifecycle: silent unless active): ``<controller>/joint_trajectory`` per
        configured controller, each with only its joints; ``vla/status``.

The node holds no model or safety logic: it converts messages and calls the PolicyRunner.
"""

from __future__ import annotations

from collections.abc import Callable
import threading
import time
import traceback
from typing import Any, TYPE_CHECKING

from diagnostic_msgs.msg import DiagnosticArray
from rclpy.callback_groups import ReentrantCallbackGroup
from rclpy.lifecycle import LifecycleNode, LifecycleState, TransitionCallbackReturn
from sensor_msgs.msg import CompressedImage, Image, JointState
from std_srvs.srv import Trigger
from trajectory_msgs.msg import JointTrajectory
from typing_extensions import override

from vla_ros.core.config import VlaConfig
from vla_ros.core.errors import ConfigError, InputError, SafetyViolation, VlaRosError
from vla_ros.core.instructions import normalize_instruction
from vla_ros.core.joint_presence import JointPresence, JointPresenceCheck
from vla_ros.core.observation_buffer import JointBounds, ObservationBuffer
from vla_ros.core.types import JointTrajectoryCommand, NodeState
from vla_ros.execution.policy_setup import prepare_policy
from vla_ros.execution.runner import PolicyRunner, RunnerStatus
from vla_ros.msg import PolicyStatus
from vla_ros.ros.control_clock import control_clock
from vla_ros.ros.convert import (
    image_from_msg,
    status_to_diagnostics,
    status_to_msg,
    trajectory_to_msg,
)
from vla_ros.ros.instruction_goals import InstructionGoals
from vla_ros.ros.node_main import run_node
from vla_ros.ros.params import declare_policy_parameters, overlay_config
from vla_ros.ros.qos import COMMAND_QOS, SENSOR_QOS, STATUS_QOS
from vla_ros.srv import SetInstruction

if TYPE_CHECKING:
    from rclpy.lifecycle import LifecyclePublisher
    from rclpy.publisher import Publisher
    from rclpy.service import Service
    from rclpy.subscription import Subscription
    from rclpy.timer import Timer

__all__ = ['PolicyNode', 'main']

SUCCESS = TransitionCallbackReturn.SUCCESS


class _Session:
    """What ``configure`` creates and ``cleanup`` destroys (the model lives in ``runner``)."""

    def __init__(self, config: VlaConfig, buffer: ObservationBuffer,
                 presence: JointPresenceCheck) -> None:
        self.config = config
        self.buffer = buffer
        self.presence = presence
        self.joint_error: str | None = None  # set while configured joints are missing
        self.trajectory_pubs: dict[str, LifecyclePublisher[Any]] = {}
        self.status_pub: LifecyclePublisher[Any] | None = None
        self.diagnostics_pub: Publisher[Any] | None = None
        self.runner: PolicyRunner | None = None
        self.goals: InstructionGoals | None = None
        self.subscriptions: list[Subscription[Any]] = []
        self.services: list[Service[Any, Any]] = []
        self.release_policy: Callable[[], None] = lambda: None  # a remote policy's connection


class PolicyNode(LifecycleNode):
    """Runs a VLA policy on live observations and commands ros2_control trajectory controllers."""

    def __init__(self, node_name: str = 'vla_policy_node', **kwargs: Any) -> None:
        super().__init__(node_name, **kwargs)
        self._settings = declare_policy_parameters(self)
        self._group = ReentrantCallbackGroup()
        self._activity_lock = threading.Lock()  # orders instruction starts and deactivation
        self._active = False
        self._session: _Session | None = None
        self._failure: BaseException | None = None
        self._heartbeat_timer: Timer | None = None
        if self._settings.autostart:
            self._autostart()

    def _autostart(self) -> None:
        """Configure and activate now; raise the reason (a ConfigError, ...) if either fails."""
        for transition in (self.trigger_configure, self.trigger_activate):
            if transition() != SUCCESS:
                failure = self._failure or ConfigError(f'{self.get_name()}: autostart failed')
                self.destroy_node()
                raise failure

    @override
    def on_configure(self, state: LifecycleState) -> TransitionCallbackReturn:
        """Load the config and the policy, warm it up and create the interfaces."""
        self._failure = None
        try:
            self._configure()
        except VlaRosError as err:
            self._close_session()
            return self._fail_configure(err, TransitionCallbackReturn.FAILURE)
        except Exception as err:  # a bug: rclpy would turn it into ERROR without a word
            self._close_session()
            return self._fail_configure(err, TransitionCallbackReturn.ERROR)
        return super().on_configure(state)

    def _fail_configure(self, err: BaseException,
                        result: TransitionCallbackReturn) -> TransitionCallbackReturn:
        self._failure = err
        if result == TransitionCallbackReturn.FAILURE:
            self.get_logger().error(f'configure failed: {err}')
        else:
            self.get_logger().error('configure failed unexpectedly:\n'
                                    + ''.join(traceback.format_exception(err)))
        return result

    def _configure(self) -> None:
        config = overlay_config(self._settings)
        embodiment = config.embodiment
        prepared = prepare_policy(config)
        limits = prepared.limits
        bounds = {name: JointBounds(float(lower), float(upper), float(velocity))
                  for name, lower, upper, velocity in zip(
                      limits.names, limits.lower, limits.upper, limits.velocity)
                  if name in embodiment.joints}
        # Ages on the controllers' clock: a simulator slowed down by load is not "stale".
        buffer = ObservationBuffer(embodiment.cameras, stale_after_s=config.safety.stale_after_s,
                                   clock=control_clock(self), joint_bounds=bounds)
        presence = JointPresenceCheck(embodiment.joints, clock=time.monotonic,
                                      timeout_s=self._settings.joint_state_timeout_s,
                                      topic=embodiment.joint_state_topic)
        self._session = session = _Session(config, buffer, presence)
        session.release_policy = prepared.release
        self._create_publishers(session)
        session.runner = PolicyRunner(
            policy=prepared.policy, buffer=buffer, controllers=embodiment.controllers,
            limits=prepared.limits, safety=config.safety, execution=config.execution,
            sink=self._send_trajectory, on_status=self._publish_status,
            clock=control_clock(self))
        self._create_interfaces(session, session.runner)
        self.get_logger().info(
            f'policy {config.policy.family!r} from {prepared.source} ready '
            f'(inference: {prepared.inference_path or "as the family implements it"}; '
            f'warm-up inference {prepared.warm_up_ms:.0f} ms); '
            f'controllers {sorted(embodiment.controllers)}')

    def _create_publishers(self, session: _Session) -> None:
        prefix = 'vla/preview/' if self._settings.dry_run else ''
        for controller in session.config.embodiment.controllers:
            session.trajectory_pubs[controller] = self.create_lifecycle_publisher(
                JointTrajectory, f'{prefix}{controller}/joint_trajectory', COMMAND_QOS)
        session.status_pub = self.create_lifecycle_publisher(PolicyStatus, 'vla/status',
                                                             STATUS_QOS)
        session.diagnostics_pub = self.create_publisher(DiagnosticArray, '/diagnostics',
                                                        STATUS_QOS)

    def _create_interfaces(self, session: _Session, runner: PolicyRunner) -> None:
        embodiment = session.config.embodiment
        for camera in embodiment.cameras:
            msg_type = CompressedImage if camera.topic.endswith('/compressed') else Image
            session.subscriptions.append(self.create_subscription(
                msg_type, camera.topic,
                lambda msg, name=camera.name: self._on_image(name, msg), SENSOR_QOS))
        session.subscriptions.append(self.create_subscription(
            JointState, embodiment.joint_state_topic, self._on_joint_state, SENSOR_QOS))
        session.services += [
            self.create_service(SetInstruction, 'vla/set_instruction', self._on_set_instruction,
                                callback_group=self._group),
            self.create_service(Trigger, 'vla/stop', self._on_stop, callback_group=self._group),
            self.create_service(Trigger, 'vla/resume', self._on_resume,
                                callback_group=self._group)]
        session.goals = InstructionGoals(self, runner, start=self._start,
                                         refusal=self._refusal, callback_group=self._group,
                                         clock=control_clock(self),
                                         stale_after_s=session.config.safety.stale_after_s)

    @override
    def on_activate(self, state: LifecycleState) -> TransitionCallbackReturn:
        """Enable the publishers and accept instructions and goals."""
        result = super().on_activate(state)
        with self._activity_lock:
            self._active = True
        self._heartbeat_timer = self.create_timer(1.0, self._on_heartbeat)
        self._on_heartbeat()
        self.get_logger().info('active: instructions and goals are accepted')
        return result

    @override
    def on_deactivate(self, state: LifecycleState) -> TransitionCallbackReturn:
        """Hold the measured position, end the running goal and refuse motion."""
        self._deactivate('deactivated')
        return super().on_deactivate(state)

    def _deactivate(self, reason: str) -> None:
        with self._activity_lock:
            self._active = False
            session = self._session
            if session is not None and session.goals is not None and session.runner is not None:
                session.goals.preempt(f'aborted: {reason}')
                session.runner.hold(reason)
        if self._heartbeat_timer is not None:
            self.destroy_timer(self._heartbeat_timer)
            self._heartbeat_timer = None

    @override
    def on_cleanup(self, state: LifecycleState) -> TransitionCallbackReturn:
        """Destroy the interfaces and free the model."""
        self._close_session()
        return super().on_cleanup(state)

    @override
    def on_shutdown(self, state: LifecycleState) -> TransitionCallbackReturn:
        """Hold if active, then free everything."""
        self._deactivate('shutting down')
        self._close_session()
        return super().on_shutdown(state)

    @override
    def on_error(self, state: LifecycleState) -> TransitionCallbackReturn:
        """Hold if possible and free everything; the node returns to unconfigured."""
        self._deactivate('lifecycle error')
        self._close_session()
        return super().on_error(state)

    def _close_session(self) -> None:
        """Stop the runner (which holds while the publishers are enabled), then destroy all."""
        session = self._session
        if session is None:
            return
        if session.runner is not None:
            session.runner.close()
        session.release_policy()
        if session.goals is not None:
            session.goals.destroy()
        self._session = None  # drops the last reference to the policy: frees the model
        for subscription in session.subscriptions:
            self.destroy_subscription(subscription)
        for service in session.services:
            self.destroy_service(service)
        for publisher in (*session.trajectory_pubs.values(), session.status_pub):
            if publisher is not None:
                self.destroy_lifecycle_publisher(publisher)
        if session.diagnostics_pub is not None:
            self.destroy_publisher(session.diagnostics_pub)

    def _send_trajectory(self, controller: str, command: JointTrajectoryCommand) -> None:
        session = self._session
        if session is not None:
            session.trajectory_pubs[controller].publish(trajectory_to_msg(command))

    def _publish_status(self, status: RunnerStatus) -> None:
        session = self._session
        if (session is None or session.runner is None or session.status_pub is None
                or session.diagnostics_pub is None):
            return
        stamp = self.get_clock().now().to_msg()
        stopped = session.runner.stopped
        session.status_pub.publish(status_to_msg(status, stamp=stamp, stopped=stopped,
                                                 dry_run=self._settings.dry_run))
        session.diagnostics_pub.publish(status_to_diagnostics(
            status, name=self.get_fully_qualified_name(), stamp=stamp, stopped=stopped))

    def _on_heartbeat(self) -> None:
        session = self._session
        if session is not None and session.runner is not None:
            self._publish_status(session.runner.status)

    def _on_image(self, camera: str, msg: Image | CompressedImage) -> None:
        session = self._session
        if session is None or session.runner is None:
            return
        try:
            session.buffer.put_image(camera, image_from_msg(msg, where=f'camera {camera!r}'))
        except InputError as err:
            self.get_logger().warning(str(err), throttle_duration_sec=2.0)
            session.runner.report_input_error(str(err))

    def _on_joint_state(self, msg: JointState) -> None:
        session = self._session
        if session is None or session.runner is None:
            return
        if session.joint_error is not None or session.presence.missing:
            self._check_joint_presence(session, session.runner, session.presence.observe(msg.name))
        try:
            stamp = msg.header.stamp
            session.buffer.put_joint_state(msg.name, msg.position,
                                           stamp_s=stamp.sec + 1e-9 * stamp.nanosec)
        except InputError as err:
            self.get_logger().warning(str(err), throttle_duration_sec=2.0)
            session.runner.report_input_error(str(err))

    def _check_joint_presence(self, session: _Session, runner: PolicyRunner,
                              verdict: JointPresence) -> None:
        """Hold and refuse motion while configured joints are missing; clear once they appear."""
        if verdict is JointPresence.MISSING and session.joint_error is None:
            session.joint_error = session.presence.error_message()
            self.get_logger().error(f'{session.joint_error}; holding and refusing motion')
            runner.hold(session.joint_error, state=NodeState.ERROR)
        elif verdict is JointPresence.COMPLETE and session.joint_error is not None:
            session.joint_error = None
            self.get_logger().info('every configured joint is now in the joint states')

    def _refusal(self) -> str | None:
        """Why motion may not start now, or None."""
        session = self._session
        if session is None or session.runner is None or not self._active:
            return 'the policy node is not active (lifecycle); activate it first'
        if session.joint_error is not None:
            return session.joint_error
        if session.runner.stopped:
            return 'motion is stopped (vla/stop); call vla/resume first'
        return None

    def _start(self, instruction: str) -> None:
        """Start ``instruction``; raises SafetyViolation with the reason when refused."""
        with self._activity_lock:
            reason = self._refusal()
            session = self._session
            if reason is not None or session is None or session.runner is None:
                raise SafetyViolation(reason or 'the policy node is not configured')
            session.runner.start(instruction)

    def _on_set_instruction(self, request: SetInstruction.Request,
                            response: SetInstruction.Response) -> SetInstruction.Response:
        try:
            instruction = normalize_instruction(request.instruction)
        except InputError as err:
            response.accepted, response.message = False, str(err)
            return response
        session = self._session
        refusal = None if session is None or session.goals is None else (
            session.goals.clock_refusal())
        if refusal is not None:
            response.accepted, response.message = False, refusal
            return response
        if session is not None and session.goals is not None:
            session.goals.preempt()
        try:
            self._start(instruction)
        except SafetyViolation as err:
            response.accepted, response.message = False, str(err)
            return response
        response.accepted, response.message = True, f'executing {instruction!r}'
        return response

    def _on_stop(self, _request: Trigger.Request, response: Trigger.Response) -> Trigger.Response:
        session = self._session
        if session is None or session.goals is None or session.runner is None:
            response.success, response.message = False, 'the policy node is not configured'
            return response
        session.goals.preempt()
        session.runner.stop()
        response.success = True
        response.message = 'holding position; new motion is refused until vla/resume'
        return response

    def _on_resume(self, _request: Trigger.Request,
                   response: Trigger.Response) -> Trigger.Response:
        session = self._session
        if session is None or session.runner is None:
            response.success, response.message = False, 'the policy node is not configured'
            return response
        session.runner.resume()
        response.success, response.message = True, 'resumed; send an instruction to move'
        return response

    @override
    def destroy_node(self) -> None:
        """Hold the robot and stop the inference worker before the node goes away."""
        self._deactivate('node destroyed')
        self._close_session()
        super().destroy_node()


def main(args: list[str] | None = None) -> int:
    """Entry point of ``ros2 run vla_ros vla_policy_node``."""
    return run_node(PolicyNode, name='vla_policy_node', args=args)


if __name__ == '__main__':
    raise SystemExit(main())
