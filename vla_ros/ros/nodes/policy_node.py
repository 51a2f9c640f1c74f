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

import contextlib
from dataclasses import dataclass
import functools
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
from vla_ros.core.types import JointTrajectoryCommand
from vla_ros.execution.policy_setup import prepare_policy, PreparedPolicy
from vla_ros.execution.runner import PolicyRunner
from vla_ros.execution.runner_status import RunnerFault, RunnerStatus
from vla_ros.msg import PolicyStatus
from vla_ros.policies.registry import load_policy
from vla_ros.ros.control_clock import control_clock
from vla_ros.ros.convert import (
    image_from_msg,
    status_to_diagnostics,
    status_to_msg,
    trajectory_to_msg,
)
from vla_ros.ros.instruction_goals import GoalEnd, InstructionGoals
from vla_ros.ros.motion_gate import MotionGate
from vla_ros.ros.node_main import run_node
from vla_ros.ros.params import declare_policy_parameters, overlay_config
from vla_ros.ros.qos import COMMAND_QOS, SENSOR_QOS, STATUS_QOS
from vla_ros.ros.trajectory_wire import trajectory_to_cdr, WireFormat
from vla_ros.srv import SetInstruction

if TYPE_CHECKING:
    from rclpy.lifecycle import LifecyclePublisher
    from rclpy.publisher import Publisher
    from rclpy.timer import Timer

__all__ = ['PolicyNode', 'main']

SUCCESS = TransitionCallbackReturn.SUCCESS
#: Period of the status heartbeat while active, seconds.
HEARTBEAT_PERIOD_S = 1.0


@dataclass(frozen=True, slots=True)
class _Outputs:
    """The node's publishers: a trajectory per controller, the status and /diagnostics."""

    trajectory_pubs: dict[str, LifecyclePublisher[Any]]
    status_pub: LifecyclePublisher[Any]
    diagnostics_pub: Publisher[Any]
    wire: WireFormat  # trajectories as numpy-built CDR bytes, or as rclpy messages


@dataclass(frozen=True, slots=True)
class _Session:
    """What ``configure`` creates, whole, and ``cleanup`` destroys (the model is the runner's).

    Each part, as it is made, puts its undoing on ``teardown``, which undoes them in reverse:
    the services and subscriptions (made last, each bound to this session, so a callback has
    every part it needs), the heartbeat, the goals, the runner (its hold still published),
    the publishers, then the policy's connection.
    """

    config: VlaConfig
    buffer: ObservationBuffer
    presence: JointPresenceCheck
    outputs: _Outputs
    runner: PolicyRunner
    gate: MotionGate
    goals: InstructionGoals
    heartbeat: Timer  # cancelled while inactive
    teardown: contextlib.ExitStack


class PolicyNode(LifecycleNode):
    """Runs a VLA policy on live observations and commands ros2_control trajectory controllers."""

    def __init__(self, node_name: str = 'vla_policy_node', **kwargs: Any) -> None:
        super().__init__(node_name, **kwargs)
        self._settings = declare_policy_parameters(self)
        self._group = ReentrantCallbackGroup()
        self._session: _Session | None = None  # None while unconfigured
        self._failure: BaseException | None = None
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
        teardown = contextlib.ExitStack()  # undoes what a failed configure made
        try:
            session = self._create_session(teardown)
            self._create_interfaces(session)
        except VlaRosError as err:
            teardown.close()
            return self._fail_configure(err, TransitionCallbackReturn.FAILURE)
        except Exception as err:  # a bug: rclpy would turn it into ERROR without a word
            teardown.close()
            return self._fail_configure(err, TransitionCallbackReturn.ERROR)
        self._session = session
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

    def _create_session(self, teardown: contextlib.ExitStack) -> _Session:
        """Load the config and the policy and make every part but the subscriptions."""
        config = overlay_config(self._settings)
        embodiment = config.embodiment
        prepared = prepare_policy(config, load=load_policy)
        teardown.callback(prepared.release)  # a remote policy's connection
        # Ages on the controllers' clock: a simulator slowed down by load is not "stale".
        buffer = ObservationBuffer(embodiment.cameras, stale_after_s=config.safety.stale_after_s,
                                   clock=control_clock(self),
                                   joint_bounds=_bounds(prepared, embodiment.joints),
                                   position_tolerance=config.safety.joint_state_tolerance)
        presence = JointPresenceCheck(embodiment.joints, clock=time.monotonic,
                                      timeout_s=self._settings.joint_state_timeout_s,
                                      topic=embodiment.joint_state_topic)
        outputs = self._create_publishers(config, teardown)
        runner = PolicyRunner(
            policy=prepared.policy, buffer=buffer, controllers=embodiment.controllers,
            limits=prepared.limits, safety=config.safety, execution=config.execution,
            sink=functools.partial(_send_trajectory, outputs),
            on_status=functools.partial(self._publish_status, outputs),
            clock=control_clock(self))
        teardown.callback(runner.close)
        gate = MotionGate(runner)
        goals = InstructionGoals(self, runner, start=gate.start, refusal=gate.refusal,
                                 callback_group=self._group, clock=control_clock(self),
                                 stale_after_s=config.safety.stale_after_s)
        teardown.callback(goals.destroy)
        heartbeat = self.create_timer(HEARTBEAT_PERIOD_S,
                                      lambda: self._publish_status(outputs, runner.status))
        heartbeat.cancel()
        teardown.callback(self.destroy_timer, heartbeat)
        self.get_logger().info(
            f'policy {config.policy.family!r} from {prepared.source} ready '
            f'(inference: {prepared.inference_path or "as the family implements it"}; '
            f'warm-up inference {prepared.warm_up_ms:.0f} ms); '
            f'controllers {sorted(embodiment.controllers)}; trajectories: {outputs.wire.reason}')
        return _Session(config=config, buffer=buffer, presence=presence, outputs=outputs,
                        runner=runner, gate=gate, goals=goals, heartbeat=heartbeat,
                        teardown=teardown)

    def _create_publishers(self, config: VlaConfig, teardown: contextlib.ExitStack) -> _Outputs:
        prefix = 'vla/preview/' if self._settings.dry_run else ''
        outputs = _Outputs(
            trajectory_pubs={controller: self.create_lifecycle_publisher(
                JointTrajectory, f'{prefix}{controller}/joint_trajectory', COMMAND_QOS)
                for controller in config.embodiment.controllers},
            status_pub=self.create_lifecycle_publisher(PolicyStatus, 'vla/status', STATUS_QOS),
            diagnostics_pub=self.create_publisher(DiagnosticArray, '/diagnostics', STATUS_QOS),
            wire=WireFormat.probe())
        for publisher in (*outputs.trajectory_pubs.values(), outputs.status_pub):
            teardown.callback(self.destroy_lifecycle_publisher, publisher)
        teardown.callback(self.destroy_publisher, outputs.diagnostics_pub)
        return outputs

    def _create_interfaces(self, session: _Session) -> None:
        """Subscribe to the cameras and joint states and serve the services, for ``session``."""
        embodiment = session.config.embodiment
        subscribe: list[tuple[type[Any], str, Any]] = [
            (CompressedImage if camera.topic.endswith('/compressed') else Image, camera.topic,
             functools.partial(self._on_image, session, camera.name))
            for camera in embodiment.cameras]
        subscribe.append((JointState, embodiment.joint_state_topic,
                          functools.partial(self._on_joint_state, session)))
        for msg_type, topic, on_message in subscribe:
            session.teardown.callback(self.destroy_subscription, self.create_subscription(
                msg_type, topic, on_message, SENSOR_QOS))
        for srv_type, name, on_request in (
                (SetInstruction, 'vla/set_instruction', self._on_set_instruction),
                (Trigger, 'vla/stop', self._on_stop), (Trigger, 'vla/resume', self._on_resume)):
            session.teardown.callback(self.destroy_service, self.create_service(
                srv_type, name, functools.partial(on_request, session),
                callback_group=self._group))

    @override
    def on_activate(self, state: LifecycleState) -> TransitionCallbackReturn:
        """Enable the publishers and accept instructions and goals."""
        result = super().on_activate(state)
        session = self._configured()
        session.gate.activate()
        session.heartbeat.reset()
        self._publish_status(session.outputs, session.runner.status)
        self.get_logger().info('active: instructions and goals are accepted')
        return result

    @override
    def on_deactivate(self, state: LifecycleState) -> TransitionCallbackReturn:
        """Hold the measured position, end the running goal and refuse motion."""
        self._deactivate('deactivated')
        return super().on_deactivate(state)

    def _deactivate(self, reason: str) -> None:
        session = self._session
        if session is None:
            return
        session.gate.deactivate()
        session.goals.preempt(GoalEnd.aborted(reason))
        session.runner.hold(reason)
        session.heartbeat.cancel()

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

    def _configured(self) -> _Session:
        """The session; only for transitions that run while configured."""
        session = self._session
        assert session is not None, 'the lifecycle runs this only while configured'
        return session

    def _close_session(self) -> None:
        """Undo the session (see ``_Session``); dropping it frees the model."""
        session, self._session = self._session, None
        if session is not None:
            session.teardown.close()

    def _publish_status(self, outputs: _Outputs, status: RunnerStatus) -> None:
        stamp = self.get_clock().now().to_msg()
        outputs.status_pub.publish(status_to_msg(status, stamp=stamp,
                                                 dry_run=self._settings.dry_run))
        outputs.diagnostics_pub.publish(status_to_diagnostics(
            status, name=self.get_fully_qualified_name(), stamp=stamp))

    def _on_image(self, session: _Session, camera: str, msg: Image | CompressedImage) -> None:
        try:
            session.buffer.put_image(camera, image_from_msg(msg, where=f'camera {camera!r}'))
        except InputError as err:
            self.get_logger().warning(str(err), throttle_duration_sec=2.0)
            session.runner.report_input_error(str(err))

    def _on_joint_state(self, session: _Session, msg: JointState) -> None:
        if session.gate.joint_error is not None or session.presence.missing:
            self._check_joint_presence(session, session.presence.observe(msg.name))
        try:
            stamp = msg.header.stamp
            session.buffer.put_joint_state(msg.name, msg.position,
                                           stamp_s=stamp.sec + 1e-9 * stamp.nanosec)
        except InputError as err:
            self.get_logger().warning(str(err), throttle_duration_sec=2.0)
            session.runner.report_input_error(str(err))

    def _check_joint_presence(self, session: _Session, verdict: JointPresence) -> None:
        """Hold and refuse motion while configured joints are missing; clear once they appear."""
        if verdict is JointPresence.MISSING and session.gate.joint_error is None:
            error = session.presence.error_message()
            session.gate.joints_missing(error)
            self.get_logger().error(f'{error}; holding and refusing motion')
            session.runner.hold(error, fault=RunnerFault.JOINTS)
        elif verdict is JointPresence.COMPLETE and session.gate.joint_error is not None:
            session.gate.joints_missing(None)
            self.get_logger().info('every configured joint is now in the joint states')

    def _on_set_instruction(self, session: _Session, request: SetInstruction.Request,
                            response: SetInstruction.Response) -> SetInstruction.Response:
        try:
            instruction = normalize_instruction(request.instruction)
            clock_refusal = session.goals.clock_refusal()
            if clock_refusal is not None:
                raise SafetyViolation(clock_refusal)
            session.goals.preempt()
            session.gate.start(instruction)
        except (InputError, SafetyViolation) as err:
            response.accepted, response.message = False, str(err)
            return response
        response.accepted, response.message = True, f'executing {instruction!r}'
        return response

    def _on_stop(self, session: _Session, _request: Trigger.Request,
                 response: Trigger.Response) -> Trigger.Response:
        session.goals.preempt()
        session.runner.stop()
        response.success = True
        response.message = 'holding position; new motion is refused until vla/resume'
        return response

    def _on_resume(self, session: _Session, _request: Trigger.Request,
                   response: Trigger.Response) -> Trigger.Response:
        session.runner.resume()
        response.success, response.message = True, 'resumed; send an instruction to move'
        return response

    @override
    def destroy_node(self) -> None:
        """Hold the robot and stop the inference worker before the node goes away."""
        self._deactivate('node destroyed')
        self._close_session()
        super().destroy_node()


def _bounds(prepared: PreparedPolicy, joints: tuple[str, ...]) -> dict[str, JointBounds]:
    """The URDF bounds of each of ``joints`` (the configured ones), by name."""
    limits = prepared.limits
    return {name: JointBounds(float(lower), float(upper), float(velocity))
            for name, lower, upper, velocity in zip(
                limits.names, limits.lower, limits.upper, limits.velocity)
            if name in joints}


def _send_trajectory(outputs: _Outputs, controller: str,
                     command: JointTrajectoryCommand) -> None:
    encoded = trajectory_to_cdr(command) if outputs.wire.raw else None
    outputs.trajectory_pubs[controller].publish(
        trajectory_to_msg(command) if encoded is None else encoded)


def main(args: list[str] | None = None) -> int:
    """Entry point of ``ros2 run vla_ros vla_policy_node``."""
    return run_node(PolicyNode, name='vla_policy_node', args=args)


if __name__ == '__main__':
    raise SystemExit(main())
