# SPDX-License-Identifier: Apache-2.0
# Copyright 2026 The vla_ros authors
"""The inference worker: observation -> policy -> limited trajectory -> controllers, in a loop.

ROS-free. The node feeds the ObservationBuffer from its callbacks, calls ``start``/``hold``
from its service and action handlers, and gives a sink that publishes trajectories. Inference
runs on this class's own thread, never on an executor thread.

When the next inference starts and how its chunk joins the commands already sent is the
``ChunkScheduler``'s job (``execution.strategy``: sync, async, ensemble or rtc). Synchronous
execution (openpi's behaviour, the default) publishes a chunk, lets the controller execute its
first ``horizon`` steps, then infers again from the new observation. ``PolicyCall`` makes the
call itself (guided for RTC) and checks the chunk.

Every stop is a hold: ``hold`` bumps a generation counter under the publish lock, so a chunk
whose inference began before the stop is dropped instead of published. A hold brakes: from
where the plan has the arm now, at the speed it has there, to rest (within
``safety.max_acceleration_rad_s2`` when set, else in one policy time step), never back to
an older measured position (``braking_trajectory``).

Every trajectory sent is checked last against where the arm is (the newest accepted joint
state, allowing for its age) and where it was last told to be: a first point that the
velocity limits cannot reach in its ``time_from_start`` is delayed until they can, and
counted in ``corrections`` (``reachable_from``).

A chunk is due before the plan runs out (``PolicyDeadline``): when it is late (a hung or slow
policy server), a watch thread holds within a quarter policy step, shows why (ERROR) and drops
the late chunk; past a remote policy's ``server.patience_s`` the instruction is given up.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import replace
import logging
import threading
import time
from typing import Protocol

import numpy as np
from numpy.typing import NDArray

from vla_ros.core.config import ExecutionConfig, SafetyConfig
from vla_ros.core.errors import ConfigError, InputError, PolicyOutputError, SafetyViolation
from vla_ros.core.observation_buffer import ObservationBuffer
from vla_ros.core.policy import Policy
from vla_ros.core.remote_config import RemoteServerConfig
from vla_ros.core.types import JointTrajectoryCommand, NodeState
from vla_ros.execution.chunk_planner import (
    hold_trajectory,
    reachable_from,
    split_by_controller,
)
from vla_ros.execution.chunk_scheduler import ChunkScheduler, MergeInput
from vla_ros.execution.conversion_report import ConversionReport, ReportsConversion
from vla_ros.execution.joint_limits import JointLimits
from vla_ros.execution.policy_call import PolicyCall
from vla_ros.execution.policy_deadline import PolicyDeadline
from vla_ros.execution.runner_status import RunnerFault, RunnerStatus, STOPPED_REFUSAL

# RunnerStatus is re-exported: the runner's status is part of its API.
__all__ = ['PolicyRunner', 'RunnerStatus', 'TrajectorySink']

_LOG = logging.getLogger(__name__)

#: Pause after a failed cycle before the next try, seconds.
RETRY_PERIOD_S = 0.2
#: Longest sleep of the worker before it looks at the clock again, seconds (wall time; the
#: runner's clock may be a simulator's, which runs slower than the wall under load).
MAX_WAIT_S = 0.05


class TrajectorySink(Protocol):
    """Sends one controller's trajectory (the node publishes it)."""

    def __call__(self, controller: str, command: JointTrajectoryCommand) -> None:
        """Send ``command`` to ``controller``; must not block for long."""
        ...


class PolicyRunner:
    """Runs a policy on the newest observation and sends its chunks, until told to hold.

    ``execution`` picks the strategy; ``horizon`` alone (the older form) means synchronous
    execution with that horizon. Given both, they must agree. ``clock`` (seconds) times the
    schedule and the trajectories; it must be the controllers' clock: the monotonic wall clock
    for a real robot, the simulator's clock for a simulated one that may run slower.

    Raises:
        ConfigError: ``horizon`` and ``execution.horizon`` disagree.
    """

    def __init__(self, *, policy: Policy, buffer: ObservationBuffer,
                 controllers: Mapping[str, tuple[str, ...]], limits: JointLimits,
                 safety: SafetyConfig, sink: TrajectorySink,
                 on_status: Callable[[RunnerStatus], None], horizon: int | None = None,
                 execution: ExecutionConfig | None = None,
                 clock: Callable[[], float] = time.monotonic) -> None:
        if execution is None:
            execution = ExecutionConfig(horizon=horizon)
        elif horizon is not None and horizon != execution.horizon:
            raise ConfigError(f'execution.horizon: {execution.horizon!r}, but the runner was '
                              f'also given horizon={horizon!r}')
        self._policy = policy
        self._call = PolicyCall(policy, execution)
        self._clock = clock
        self._buffer = buffer
        self._controllers = dict(controllers)
        self._joint_names = policy.spec.joint_names
        spec = policy.spec
        self._limits = limits.subset(self._joint_names)
        self._safety = safety
        self._scheduler = ChunkScheduler(
            execution=execution, chunk_steps=spec.chunk_length, dt_s=spec.dt_s,
            limits=self._limits, safety=safety)
        self._rest: NDArray[np.float64] | None = None  # where the last hold brings the arm
        self._sink = sink
        self._on_status = on_status
        self._lock = threading.Lock()  # guards the fields below and every publish
        self._wake = threading.Event()
        self._generation = 0
        self._running = False
        self._holding = True  # no chunk sent since the last hold (or ever)
        self._closed = False
        self._stopped = False  # latched by stop(), cleared by resume()
        self._instruction = ''  # what the policy is told, as ``start`` got it
        self._status = RunnerStatus()
        self._latency_sum_ms = 0.0
        server = getattr(policy, 'server', None)  # a remote policy's RemoteServerConfig
        self._deadline = PolicyDeadline(server if isinstance(server, RemoteServerConfig)
                                        else None)
        self._closing = threading.Event()
        self._thread = threading.Thread(target=self._loop, name='vla_inference', daemon=True)
        self._thread.start()
        self._watch = threading.Thread(target=self._watch_deadline, args=(spec.dt_s / 4.0,),
                                       name='vla_deadline', daemon=True)
        self._watch.start()

    @property
    def status(self) -> RunnerStatus:
        """The current status snapshot."""
        with self._lock:
            return self._status

    @property
    def refusal(self) -> str | None:
        """Why ``start`` is refused now (``STOPPED_REFUSAL``), or None."""
        with self._lock:
            return STOPPED_REFUSAL if self._stopped else None

    def start(self, instruction: str) -> None:
        """Start (or switch to) executing ``instruction``, already normalised at the boundary.

        The runner holds the instruction and gives it to the policy with every observation;
        the status shows it.

        Raises:
            SafetyViolation: the runner is stopped (``STOPPED_REFUSAL``); ``resume`` first.
        """
        with self._lock:
            if self._stopped:
                raise SafetyViolation(STOPPED_REFUSAL)
            self._generation += 1
            self._running = True
            self._instruction = instruction
            self._deadline.reset()
            self._status = replace(self._status, state=NodeState.RUNNING,
                                   fault=RunnerFault.NONE, instruction=instruction,
                                   last_error='')
        self._wake.set()
        self._on_status(self.status)

    def hold(self, reason: str = '', *, fault: RunnerFault = RunnerFault.NONE) -> None:
        """Stop executing and hold the measured position; no older chunk is sent afterwards.

        Given a ``fault``, the state is ERROR with that fault, else HOLDING.
        """
        state = NodeState.HOLDING if fault is RunnerFault.NONE else NodeState.ERROR
        with self._lock:
            self._generation += 1
            self._running = False
            self._send_hold_locked()
            self._status = replace(self._status, state=state, fault=fault,
                                   last_error=reason or self._status.last_error)
        self._wake.set()
        self._on_status(self.status)

    def stop(self) -> None:
        """Hold now and refuse ``start`` until ``resume`` (an emergency-stop latch)."""
        with self._lock:
            self._stopped = True
            self._status = replace(self._status, stopped=True)
        self.hold('stopped by vla/stop')

    def resume(self) -> None:
        """Clear the stop latch; the robot keeps holding until the next ``start``."""
        with self._lock:
            self._stopped = False
            self._status = replace(self._status, state=NodeState.IDLE, fault=RunnerFault.NONE,
                                   stopped=False, last_error='')
        self._on_status(self.status)

    def report_input_error(self, message: str) -> None:
        """Record a bad input seen by a callback (the runner itself holds if it needs it)."""
        with self._lock:
            self._status = replace(self._status, last_error=message,
                                   errors=self._status.errors + 1)
        self._on_status(self.status)

    def close(self) -> None:
        """Hold, stop the worker thread and wait for it."""
        self.hold()
        with self._lock:
            self._closed = True
        self._wake.set()
        self._closing.set()
        self._thread.join(timeout=10.0)
        self._watch.join(timeout=10.0)

    def _send_hold_locked(self) -> None:
        """Brake to rest, once: re-sending a hold would creep as the arm sags.

        The arm brakes from where the plan has it now, at the plan's speed there; with no
        plan (a clock reset dropped it) it holds the measured position. The plan is
        forgotten too, so the next chunk starts from the measured position.
        """
        timeline = self._scheduler.timeline
        self._scheduler.reset()
        if self._holding:
            return
        try:
            measured = self._buffer.joint_positions(self._joint_names)
        except InputError:
            return  # nothing measured yet: nothing was ever commanded either
        hold = hold_trajectory(self._joint_names, measured) if timeline is None else (
            timeline.braking_from(self._clock(), limits=self._limits,
                                  max_acceleration_rad_s2=self._safety.max_acceleration_rad_s2))
        hold, _ = reachable_from(hold, [self._measured_reference()],
                                 velocity_limits=self._limits.velocity)
        self._rest = hold.positions[-1]
        for controller, command in split_by_controller(hold, self._controllers).items():
            self._sink(controller, command)
        self._holding = True

    def _loop(self) -> None:
        due_s, due_generation = 0.0, -1  # the next cycle's time, and for which instruction
        seen_s = self._clock()
        while True:
            with self._lock:
                if self._closed:
                    return
                running, generation = self._running, self._generation
                instruction = self._instruction
            if not running:
                self._wake.wait(timeout=0.5)
                self._wake.clear()
                continue
            now_s = self._clock()
            if now_s < seen_s:  # the clock went back (a simulator reset): plan afresh
                with self._lock:
                    self._scheduler.reset()
                due_s = now_s
            seen_s = now_s
            if generation == due_generation and due_s > now_s:  # a new instruction runs now
                wait_s = due_s - now_s
                self._wake.wait(timeout=min(wait_s, MAX_WAIT_S))
                self._wake.clear()
                continue
            due_s, due_generation = self._cycle(generation, instruction), generation

    def _cycle(self, generation: int, instruction: str) -> float:
        """One inference and publish; returns when the next cycle is due (runner clock)."""
        try:
            observation = self._buffer.snapshot(self._joint_names, instruction)
            with self._lock:
                observed_s = self._clock()
                prefix = self._scheduler.prefix(observed_s)
                timeline = self._scheduler.timeline
                self._deadline.began(generation=generation, now_s=observed_s,
                                     plan_end_s=None if timeline is None else timeline.end_s)
            started = time.perf_counter()
            chunk, guided = self._call.infer(observation, prefix)
            latency_ms = 1e3 * (time.perf_counter() - started)
            report = (self._policy.last_report
                      if isinstance(self._policy, ReportsConversion) else None)
        except (InputError, PolicyOutputError) as err:
            self._fail(generation, str(err))
            return self._clock() + RETRY_PERIOD_S
        except Exception as err:  # a bug, not bad input: hold, stop and show it
            _LOG.exception('inference cycle failed unexpectedly')
            self.hold(f'internal error: {err!r}', fault=RunnerFault.INTERNAL)
            return self._clock() + RETRY_PERIOD_S
        merge = MergeInput(chunk=chunk, observed_s=observed_s, now_s=0.0,
                           measured=observation.joint_positions, prefix=prefix, guided=guided)
        return self._publish(generation, merge, latency_ms, report)

    def _publish(self, generation: int, merge: MergeInput, latency_ms: float,
                 report: ConversionReport | None) -> float:
        """Merge the chunk and send the trajectory; returns when the next cycle is due.

        ``report``: what the policy's action-space conversion corrected in this chunk.
        """
        with self._lock:
            now_s = self._clock()
            if generation != self._generation:
                return now_s  # stopped or switched during inference: drop this chunk
            self._deadline.ended(chunk=True, now_s=now_s)
            commanded = self._commanded_locked(now_s)
            planned = self._scheduler.merge(replace(merge, now_s=now_s))
            if planned is None:
                # every step of the chunk was already in the past
                return self._scheduler.next_inference_s(now_s)
            references = [self._measured_reference()]
            if commanded is not None:
                references.append((commanded, 0.0))
            command, too_far = reachable_from(planned.command, references,
                                              velocity_limits=self._limits.velocity)
            # A re-timed command runs later: the plan (and the next inference) with it.
            self._scheduler.delay(float(command.times_from_start_s[0]
                                        - planned.command.times_from_start_s[0]))
            due_s = self._scheduler.next_inference_s(now_s)
            planned = replace(planned, command=command,
                              corrections=planned.corrections + too_far)
            for controller, command in split_by_controller(planned.command,
                                                           self._controllers).items():
                self._sink(controller, command)
            self._holding = False
            self._latency_sum_ms += latency_ms
            chunks = self._status.chunks + 1
            self._status = replace(
                self._status, state=NodeState.RUNNING, fault=RunnerFault.NONE,
                last_latency_ms=latency_ms,
                last_server_ms=self._call.server_time_ms(),
                mean_latency_ms=self._latency_sum_ms / chunks, chunks=chunks,
                corrections=self._status.corrections + planned.corrections)
            if report is not None and report.corrected:
                self._status = replace(
                    self._status, last_conversion=report.summary(),
                    conversion_corrections=self._status.conversion_corrections
                    + report.clamped_values + report.unreachable_steps)
        self._on_status(self.status)
        return due_s

    def _measured_reference(self) -> tuple[NDArray[np.float64], float]:
        """The newest accepted joint positions, and how long the arm may have moved since.

        Raises:
            InputError: a joint was never measured.
        """
        age_s = self._buffer.joint_state_age(self._joint_names)
        return (self._buffer.joint_positions(self._joint_names),
                min(max(age_s, 0.0), self._safety.stale_after_s))

    def _commanded_locked(self, now_s: float) -> NDArray[np.float64] | None:
        """Where the arm was last told to be at ``now_s``; None if nothing was commanded."""
        timeline = self._scheduler.timeline
        if timeline is not None:
            return timeline.motion_at(now_s)[0]
        return self._rest

    def _fail(self, generation: int, message: str) -> None:
        with self._lock:
            if generation != self._generation:
                return
            self._deadline.ended(chunk=False, now_s=self._clock())
            self._send_hold_locked()
            self._status = replace(self._status, state=NodeState.ERROR, fault=RunnerFault.INPUT,
                                   last_error=message, errors=self._status.errors + 1)
        _LOG.warning('holding: %s', message)
        self._on_status(self.status)

    def _watch_deadline(self, period_s: float) -> None:
        """Watch the deadline every ``period_s`` (wall time, at most MAX_WAIT_S).

        Holds when the plan ran out before its successor came (that chunk is dropped: the
        worker infers afresh); gives the instruction up past the policy's patience.
        """
        while not self._closing.wait(min(period_s, MAX_WAIT_S)):
            with self._lock:
                now_s, running = self._clock(), self._running
                late = self._deadline.missed(generation=self._generation, now_s=now_s) if (
                    running) else ''
                if late:
                    self._generation += 1
                    self._send_hold_locked()
                    self._status = replace(self._status, state=NodeState.ERROR,
                                           fault=RunnerFault.LATE, last_error=late,
                                           errors=self._status.errors + 1)
                gone = self._deadline.impatient(now_s=now_s, last_error=(
                    self._status.last_error)) if running else ''
            if gone:
                _LOG.warning('%s', gone)
                self.hold(gone)
            elif late:
                _LOG.warning('holding: %s', late)
                self._on_status(self.status)
