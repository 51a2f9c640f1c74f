# SPDX-License-Identifier: Apache-2.0
# Copyright 2026 The vla_ros authors
"""The ``vla/execute`` action of the policy node: one instruction goal at a time.

A new goal pre-empts the running one (aborted with the message 'pre-empted'), as ros2_control's
trajectory controller does; the node pre-empts it too on ``vla/set_instruction``, ``vla/stop``
and deactivation. Cancel holds the measured position. Results carry a message: 'succeeded',
'canceled', 'pre-empted' or 'aborted: <reason>'. A goal's ``timeout_s`` and its feedback's
``elapsed_s`` are seconds on the controllers' clock (simulated time under ``use_sim_time``), the
clock its chunks are timed on: a simulator slowed down by a loaded machine runs the goal for as
many simulated seconds as on an idle one.
"""

from __future__ import annotations

from collections.abc import Callable
import threading
from typing import Any, TYPE_CHECKING

from rclpy.action.server import ActionServer, CancelResponse, GoalResponse, ServerGoalHandle

from vla_ros.action import ExecuteInstruction
from vla_ros.core.errors import InputError, SafetyViolation
from vla_ros.core.instructions import normalize_instruction
from vla_ros.core.types import NodeState

if TYPE_CHECKING:
    from rclpy.callback_groups import CallbackGroup
    from rclpy.node import Node

    from vla_ros.execution.runner import PolicyRunner

__all__ = ['GoalHandle', 'InstructionGoals']

#: The action's goal handle; the generated message types carry no static types.
GoalHandle = ServerGoalHandle[Any, Any, Any]

#: Period of action feedback, seconds.
FEEDBACK_PERIOD_S = 0.2
#: Longest wait, when the server goes away, for a pre-empted goal to send its result, seconds.
FINISH_TIMEOUT_S = 2.0


class _ActiveGoal:
    """The running goal, the event that pre-empts it and the outcome it then reports."""

    __slots__ = ('handle', 'preempted', 'outcome')

    def __init__(self, handle: GoalHandle) -> None:
        self.handle = handle
        self.preempted = threading.Event()
        self.outcome = 'pre-empted'


class InstructionGoals:
    """Serves ``vla/execute`` on ``node`` and drives ``runner`` for each goal.

    Args:
        node: the policy node.
        runner: the inference worker the goals start and hold.
        start: starts an instruction, or raises SafetyViolation with the reason it may not.
        refusal: why motion is refused now (not active, stopped, ...), or None.
        callback_group: a reentrant group, so feedback loops do not block other callbacks.
        clock: seconds on the controllers' clock (``vla_ros.ros.control_clock``).
    """

    def __init__(self, node: Node, runner: PolicyRunner, *, start: Callable[[str], None],
                 refusal: Callable[[], str | None], callback_group: CallbackGroup,
                 clock: Callable[[], float]) -> None:
        self._node = node
        self._runner = runner
        self._clock = clock
        self._start = start
        self._refusal = refusal
        self._lock = threading.Lock()
        self._active: _ActiveGoal | None = None
        self._executing = 0  # execute callbacks running, guarded by _finished's lock
        self._finished = threading.Condition()
        self._server = ActionServer(
            node, ExecuteInstruction, 'vla/execute', execute_callback=self._on_execute,
            goal_callback=self._on_goal, handle_accepted_callback=self._on_goal_accepted,
            cancel_callback=lambda _goal: CancelResponse.ACCEPT, callback_group=callback_group)

    def preempt(self, outcome: str = 'pre-empted') -> None:
        """End the running goal, if any, with ``outcome`` as its result message."""
        with self._lock:
            if self._active is not None:
                self._active.outcome = outcome
                self._active.preempted.set()
                self._active = None

    def destroy(self) -> None:
        """Abort the running goal, let it send its result, then remove the action server."""
        self.preempt('aborted: the policy node is cleaning up')
        with self._finished:
            if not self._finished.wait_for(lambda: self._executing == 0,
                                           timeout=FINISH_TIMEOUT_S):
                self._node.get_logger().warning(
                    f'a goal did not finish within {FINISH_TIMEOUT_S} s of its pre-emption')
        self._server.destroy()

    def _on_goal(self, goal: ExecuteInstruction.Goal) -> GoalResponse:
        try:
            normalize_instruction(goal.instruction)
            if not goal.timeout_s > 0.0:
                raise InputError(f'timeout_s is {goal.timeout_s!r}, expected > 0')
            reason = self._refusal()
            if reason is not None:
                raise SafetyViolation(reason)
        except (InputError, SafetyViolation) as err:
            self._node.get_logger().warning(f'rejecting goal: {err}')
            self._runner.report_input_error(f'goal rejected: {err}')
            return GoalResponse.REJECT
        return GoalResponse.ACCEPT

    def _on_goal_accepted(self, goal_handle: GoalHandle) -> None:
        self.preempt()
        with self._lock:
            self._active = _ActiveGoal(goal_handle)
        goal_handle.execute()

    def _on_execute(self, goal_handle: GoalHandle) -> ExecuteInstruction.Result:
        with self._finished:
            self._executing += 1
        try:
            return self._execute(goal_handle)
        finally:
            with self._finished:
                self._executing -= 1
                self._finished.notify_all()

    def _execute(self, goal_handle: GoalHandle) -> ExecuteInstruction.Result:
        with self._lock:
            active = self._active
        if active is None or active.handle is not goal_handle:
            goal_handle.abort()  # pre-empted before it began
            return ExecuteInstruction.Result(success=False, message='pre-empted')
        try:
            self._start(normalize_instruction(goal_handle.request.instruction))
        except SafetyViolation as err:  # refused between acceptance and execution
            goal_handle.abort()
            return ExecuteInstruction.Result(success=False, message=f'aborted: {err}')
        chunks_at_start = self._runner.status.chunks
        outcome = self._follow(active, goal_handle.request.timeout_s, chunks_at_start)
        result = ExecuteInstruction.Result(
            success=outcome == 'succeeded', message=outcome,
            chunks_executed=self._runner.status.chunks - chunks_at_start)
        if outcome == 'succeeded':
            goal_handle.succeed()
        elif outcome == 'canceled':
            goal_handle.canceled()
        else:
            goal_handle.abort()
        with self._lock:
            if self._active is active:
                self._active = None
        return result

    def _follow(self, active: _ActiveGoal, timeout_s: float, chunks_at_start: int) -> str:
        """Publish feedback until the goal ends; returns the outcome as the result message."""
        started = self._clock()
        goal_handle = active.handle
        while True:
            if active.preempted.wait(timeout=FEEDBACK_PERIOD_S):
                return active.outcome
            now = self._clock()
            if started <= 0.0:  # use_sim_time reads 0 until the first /clock: start with it
                started = now
            elapsed_s = now - started
            status = self._runner.status
            if active.preempted.is_set():  # pre-empted (then held) since the wait above
                return active.outcome
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
