# SPDX-License-Identifier: Apache-2.0
# Copyright 2026 The vla_ros authors
"""The ``vla/execute`` action of the policy node: one instruction goal at a time.

A new goal pre-empts the running one (aborted with the message 'pre-empted'), as ros2_control's
trajectory controller does; the node pre-empts it too on ``vla/set_instruction``, ``vla/stop``
and deactivation. Cancel holds the measured position. A goal ends with a ``GoalOutcome``, and its
result's message is the outcome's text, with the reason of an abort: 'succeeded', 'canceled',
'pre-empted' or 'aborted: <reason>' (``GoalEnd.message``). A goal ends aborted when the runner
holds on an internal fault (``RunnerFault.INTERNAL``) or stops (holding or idle); it rides out
the faults the runner retries, and ends aborted at its timeout if not one chunk was executed
('aborted: no chunk executed in 1 s; last error: ...'): a client must not read "succeeded" for
a goal in which the arm never moved. The goal's instruction is normalised once, when the
goal comes, and that text is what the runner starts. A goal's ``timeout_s`` and its feedback's
``elapsed_s`` are seconds on the controllers' clock (simulated time under ``use_sim_time``), the
clock its chunks are timed on: a simulator slowed down by a loaded machine runs the goal for as
many simulated seconds as on an idle one.

Given ``stale_after_s``, a watchdog on the wall clock (``ClockWatch``) guards that clock: when
it stops (no new time for longer than ``stale_after_s``) or jumps back (a restarted simulator),
the arm holds, the running goal is aborted with the reason and ``vla/status`` shows it (ERROR);
goals and ``vla/set_instruction`` are refused while the clock stands still, and accepted again
once it runs.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
import enum
import threading
from typing import Any, TYPE_CHECKING

from rclpy.action.server import ActionServer, CancelResponse, GoalResponse, ServerGoalHandle
from rclpy.clock import Clock
from rclpy.clock_type import ClockType

from vla_ros.action import ExecuteInstruction
from vla_ros.core.errors import InputError, SafetyViolation
from vla_ros.core.instructions import normalize_instruction
from vla_ros.core.types import NodeState
from vla_ros.execution.runner_status import RunnerFault
from vla_ros.ros.control_clock import ClockFault, ClockWatch

if TYPE_CHECKING:
    from rclpy.callback_groups import CallbackGroup
    from rclpy.node import Node
    from rclpy.timer import Timer

    from vla_ros.execution.runner import PolicyRunner

__all__ = ['GoalEnd', 'GoalHandle', 'GoalOutcome', 'InstructionGoals']

#: The action's goal handle; the generated message types carry no static types.
GoalHandle = ServerGoalHandle[Any, Any, Any]

#: Shortest wall time without new /clock time that counts as a stopped clock, seconds.
MIN_CLOCK_STOP_S = 5.0
#: Period of action feedback, seconds.
FEEDBACK_PERIOD_S = 0.2
#: Longest wait, when the server goes away, for a pre-empted goal to send its result, seconds.
FINISH_TIMEOUT_S = 2.0
#: Empty executor tasks run in turn before the server goes, so the last results are sent.
RESULT_FLUSH_ROUNDS = 3
#: Period of the clock watchdog, wall-clock seconds.
CLOCK_CHECK_PERIOD_S = 0.1


class GoalOutcome(enum.Enum):
    """How an instruction goal ended; the value is its result message (without a reason)."""

    SUCCEEDED = 'succeeded'
    CANCELED = 'canceled'
    PREEMPTED = 'pre-empted'
    ABORTED = 'aborted'


@dataclass(frozen=True, slots=True)
class GoalEnd:
    """A goal's outcome and, for an abort, why."""

    outcome: GoalOutcome
    reason: str = ''

    @classmethod
    def aborted(cls, reason: str) -> GoalEnd:
        """The end of a goal aborted for ``reason``."""
        return cls(GoalOutcome.ABORTED, reason)

    @property
    def message(self) -> str:
        """The result's message: the outcome's text, then ': <reason>' when there is one."""
        return f'{self.outcome.value}: {self.reason}' if self.reason else self.outcome.value


PREEMPTED = GoalEnd(GoalOutcome.PREEMPTED)


class _ActiveGoal:
    """The running goal, the event that pre-empts it and the end it then reports."""

    __slots__ = ('handle', 'preempted', 'end')

    def __init__(self, handle: GoalHandle) -> None:
        self.handle = handle
        self.preempted = threading.Event()
        self.end = PREEMPTED


class InstructionGoals:
    """Serves ``vla/execute`` on ``node`` and drives ``runner`` for each goal.

    Args:
        node: the policy node.
        runner: the inference worker the goals start and hold.
        start: starts an instruction, or raises SafetyViolation with the reason it may not.
        refusal: why motion is refused now (not active, stopped, ...), or None.
        callback_group: a reentrant group, so feedback loops do not block other callbacks.
        clock: seconds on the controllers' clock (``vla_ros.ros.control_clock``).
        stale_after_s: watch ``clock`` for a stop longer than this (wall time, seconds) or a
            jump back, then hold and abort the goal; None: no watchdog.
    """

    def __init__(self, node: Node, runner: PolicyRunner, *, start: Callable[[str], None],
                 refusal: Callable[[], str | None], callback_group: CallbackGroup,
                 clock: Callable[[], float], stale_after_s: float | None = None) -> None:
        self._node = node
        self._runner = runner
        self._clock = clock
        self._start = start
        self._refusal = refusal
        self._lock = threading.Lock()
        self._active: _ActiveGoal | None = None
        self._executing = 0  # execute callbacks running, guarded by _finished's lock
        self._ended = False  # a goal ended (its result may be unsent), guarded by _finished's lock
        self._finished = threading.Condition()
        self._server = ActionServer(
            node, ExecuteInstruction, 'vla/execute', execute_callback=self._on_execute,
            goal_callback=self._on_goal, handle_accepted_callback=self._on_goal_accepted,
            cancel_callback=lambda _goal: CancelResponse.ACCEPT, callback_group=callback_group)
        self._watch: ClockWatch | None = None
        self._watch_timer: Timer | None = None
        self._clock_faulted = False  # a fault was acted on and the clock has not run since
        if stale_after_s is not None:
            # Not below MIN_CLOCK_STOP_S: a loaded 2-core machine pauses a healthy simulator's
            # /clock for over 1 s (measured 1.1 s), which aborted CI episodes at 1 s.
            self._watch = ClockWatch(clock, stale_after_s=max(stale_after_s, MIN_CLOCK_STOP_S))
            # On the wall clock: a timer on the node's (simulated) clock stops with it.
            self._watch_timer = node.create_timer(
                CLOCK_CHECK_PERIOD_S, self._on_clock_check, callback_group=callback_group,
                clock=Clock(clock_type=ClockType.STEADY_TIME))

    def preempt(self, end: GoalEnd = PREEMPTED) -> None:
        """End the running goal, if any, with ``end`` (pre-empted unless told otherwise)."""
        with self._lock:
            if self._active is not None:
                self._active.end = end
                self._active.preempted.set()
                self._active = None

    def abort(self, reason: str, *, fault: RunnerFault = RunnerFault.NONE) -> None:
        """Hold the arm (``fault`` and ``reason`` in the status), then abort the running goal."""
        self._runner.hold(reason, fault=fault)
        self.preempt(GoalEnd.aborted(reason))

    def destroy(self) -> None:
        """Abort the running goal, let it send its result, then remove the action server."""
        if self._watch_timer is not None:
            self._node.destroy_timer(self._watch_timer)
            self._watch_timer = None
        self.preempt(GoalEnd.aborted('the policy node is cleaning up'))
        with self._finished:
            if not self._finished.wait_for(lambda: self._executing == 0,
                                           timeout=FINISH_TIMEOUT_S):
                self._node.get_logger().warning(
                    f'a goal did not finish within {FINISH_TIMEOUT_S} s of its pre-emption')
            ended = self._ended
        if ended:
            self._let_results_out()
        self._server.destroy()

    def _let_results_out(self) -> None:
        """Give the executor time to send the results of the goals that just ended.

        rclpy sends a result from an executor task that it queues just after the execute
        callback returns; destroying the server before that task ran loses the result, and the
        client waits for it forever. Empty tasks, each queued once the one before ran, wait for
        the executor to run what was queued before them (bounded: an executor that no longer
        spins runs nothing).
        """
        executor = self._node.executor
        if executor is None:
            return
        for _ in range(RESULT_FLUSH_ROUNDS):
            ran = threading.Event()
            executor.create_task(ran.set)
            if not ran.wait(timeout=FINISH_TIMEOUT_S):
                return

    def _on_clock_check(self) -> None:
        """Wall-clock timer: hold and abort the goal when the controllers' clock fails."""
        assert self._watch is not None  # the timer exists only with a watch
        fault = self._watch.check()
        if fault is None:
            if self._clock_faulted:
                self._clock_faulted = False
                self._node.get_logger().info('/clock runs again; goals are accepted')
            return
        with self._lock:
            goal_running = self._active is not None
        state = self._runner.status.state
        if goal_running or state is NodeState.RUNNING or (
                fault.went_back and state is NodeState.ERROR):
            self._clock_faulted = True
            aborting = '; holding and aborting the goal' if goal_running else '; holding'
            self._node.get_logger().error(f'{fault.reason}{aborting}')
            self.abort(fault.reason, fault=RunnerFault.CLOCK)

    def _on_goal(self, goal: ExecuteInstruction.Goal) -> GoalResponse:
        """Accept the goal, its instruction normalised in place, or reject it with the reason.

        rclpy gives the accepted goal's handle this same message as its request, so the text
        normalised here is what ``_execute`` starts.
        """
        try:
            goal.instruction = normalize_instruction(goal.instruction)
            if not goal.timeout_s > 0.0:
                raise InputError(f'timeout_s is {goal.timeout_s!r}, expected > 0')
            reason = self._refusal() or self._clock_stopped()
            if reason is not None:
                raise SafetyViolation(reason)
        except (InputError, SafetyViolation) as err:
            self._node.get_logger().warning(f'rejecting goal: {err}')
            self._runner.report_input_error(f'goal rejected: {err}')
            return GoalResponse.REJECT
        return GoalResponse.ACCEPT

    def clock_refusal(self) -> str | None:
        """Why new motion (a goal or ``vla/set_instruction``) is refused now, or None.

        It is while the controllers' clock stands still: chunks timed on it would never run
        out, and nothing would notice the arm.
        """
        return self._clock_stopped()

    def _clock_stopped(self) -> str | None:
        """Why goals are refused now because the controllers' clock stands still, or None."""
        fault: ClockFault | None = None if self._watch is None else self._watch.stopped()
        return None if fault is None else fault.reason

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
                self._ended = True
                self._finished.notify_all()

    def _execute(self, goal_handle: GoalHandle) -> ExecuteInstruction.Result:
        with self._lock:
            active = self._active
        if active is None or active.handle is not goal_handle:
            return _finish(goal_handle, PREEMPTED)  # pre-empted before it began
        try:
            self._start(goal_handle.request.instruction)  # normalised by _on_goal
        except SafetyViolation as err:  # refused between acceptance and execution
            return _finish(goal_handle, GoalEnd.aborted(str(err)))
        chunks_at_start = self._runner.status.chunks
        end = self._follow(active, goal_handle.request.timeout_s, chunks_at_start)
        result = _finish(goal_handle, end,
                         chunks_executed=self._runner.status.chunks - chunks_at_start)
        with self._lock:
            if self._active is active:
                self._active = None
        return result

    def _follow(self, active: _ActiveGoal, timeout_s: float, chunks_at_start: int) -> GoalEnd:
        """Publish feedback until the goal ends; returns how it ended."""
        started = self._clock()
        goal_handle = active.handle
        while True:
            if active.preempted.wait(timeout=FEEDBACK_PERIOD_S):
                return active.end
            now = self._clock()
            if started <= 0.0:  # use_sim_time reads 0 until the first /clock: start with it
                started = now
            elapsed_s = now - started
            status = self._runner.status
            if active.preempted.is_set():  # pre-empted (then held) since the wait above
                return active.end
            if goal_handle.is_cancel_requested:
                self._runner.hold('goal cancelled')
                return GoalEnd(GoalOutcome.CANCELED)
            if not goal_handle.is_active:
                return GoalEnd(GoalOutcome.ABORTED)
            if status.fault is RunnerFault.INTERNAL:
                return GoalEnd.aborted(status.last_error)
            if status.state is not NodeState.RUNNING and status.state is not NodeState.ERROR:
                return GoalEnd.aborted(f'policy stopped ({status.last_error})')
            goal_handle.publish_feedback(ExecuteInstruction.Feedback(
                chunks_executed=status.chunks - chunks_at_start,
                last_inference_latency_ms=status.last_latency_ms, state=status.state.value,
                elapsed_s=elapsed_s))
            if elapsed_s >= timeout_s:
                self._runner.hold()
                if status.chunks == chunks_at_start:  # rode out faults the whole time
                    return GoalEnd.aborted(_nothing_executed(timeout_s, status.last_error))
                return GoalEnd(GoalOutcome.SUCCEEDED)


def _nothing_executed(timeout_s: float, last_error: str) -> str:
    """The abort reason of a goal that timed out without one chunk executed."""
    reason = f'no chunk executed in {timeout_s:g} s'
    return f'{reason}; last error: {last_error}' if last_error else reason


def _finish(goal_handle: GoalHandle, end: GoalEnd, *,
            chunks_executed: int = 0) -> ExecuteInstruction.Result:
    """Move the goal to the state of ``end`` and return its result."""
    if end.outcome is GoalOutcome.SUCCEEDED:
        goal_handle.succeed()
    elif end.outcome is GoalOutcome.CANCELED:
        goal_handle.canceled()
    else:
        goal_handle.abort()
    return ExecuteInstruction.Result(success=end.outcome is GoalOutcome.SUCCEEDED,
                                     message=end.message, chunks_executed=chunks_executed)
