# SPDX-License-Identifier: Apache-2.0
# Copyright 2026 The vla_ros authors
"""The inference worker: observation -> policy -> limited trajectory -> controllers, in a loop.

ROS-free. The node feeds the ObservationBuffer from its callbacks, calls ``start``/``hold``
from its service and action handlers, and gives a sink that publishes trajectories. Inference
runs on this class's own thread, never on an executor thread.

Execution is synchronous (openpi's behaviour): publish a chunk, let the controller execute
its first ``horizon`` steps, then infer again from the new observation.

Every stop is a hold: ``hold`` bumps a generation counter under the publish lock, so a chunk
whose inference began before the stop is dropped instead of published.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass, replace
import logging
import threading
import time
from typing import Protocol

from vla_ros.core.config import SafetyConfig
from vla_ros.core.errors import InputError, PolicyOutputError, SafetyViolation
from vla_ros.core.observation_buffer import ObservationBuffer
from vla_ros.core.types import JointTrajectoryCommand, NodeState
from vla_ros.execution.chunk_planner import hold_trajectory, plan_trajectory, split_by_controller
from vla_ros.execution.joint_limits import JointLimits
from vla_ros.policies.base import Policy

__all__ = ['PolicyRunner', 'RunnerStatus', 'TrajectorySink']

_LOG = logging.getLogger(__name__)

#: Pause after a failed cycle before the next try, seconds.
RETRY_PERIOD_S = 0.2


class TrajectorySink(Protocol):
    """Sends one controller's trajectory (the node publishes it)."""

    def __call__(self, controller: str, command: JointTrajectoryCommand) -> None:
        """Send ``command`` to ``controller``; must not block for long."""
        ...


@dataclass(frozen=True, slots=True)
class RunnerStatus:
    """A snapshot of what the runner is doing, for /vla/status and action feedback."""

    state: NodeState = NodeState.IDLE
    instruction: str = ''
    last_error: str = ''
    last_latency_ms: float = 0.0
    mean_latency_ms: float = 0.0
    chunks: int = 0
    errors: int = 0
    corrections: int = 0


class PolicyRunner:
    """Runs a policy on the newest observation and sends its chunks, until told to hold."""

    def __init__(self, *, policy: Policy, buffer: ObservationBuffer,
                 controllers: Mapping[str, tuple[str, ...]], limits: JointLimits,
                 safety: SafetyConfig, horizon: int | None, sink: TrajectorySink,
                 on_status: Callable[[RunnerStatus], None]) -> None:
        self._policy = policy
        self._buffer = buffer
        self._controllers = dict(controllers)
        self._joint_names = policy.spec.joint_names
        self._limits = limits.subset(self._joint_names)
        self._safety = safety
        self._horizon = min(horizon or policy.spec.chunk_length, policy.spec.chunk_length)
        self._sink = sink
        self._on_status = on_status
        self._lock = threading.Lock()  # guards the fields below and every publish
        self._wake = threading.Event()
        self._generation = 0
        self._running = False
        self._holding = True  # no chunk sent since the last hold (or ever)
        self._closed = False
        self._stopped = False  # latched by stop(), cleared by resume()
        self._status = RunnerStatus()
        self._latency_sum_ms = 0.0
        self._thread = threading.Thread(target=self._loop, name='vla_inference', daemon=True)
        self._thread.start()

    @property
    def status(self) -> RunnerStatus:
        """The current status snapshot."""
        with self._lock:
            return self._status

    @property
    def stopped(self) -> bool:
        """True between ``stop`` and ``resume``."""
        with self._lock:
            return self._stopped

    def start(self, instruction: str) -> None:
        """Start (or switch to) executing ``instruction``; it must already be validated.

        Raises:
            SafetyViolation: the runner is stopped; ``resume`` first.
        """
        with self._lock:
            if self._stopped:
                raise SafetyViolation('motion is stopped (vla/stop); call vla/resume first')
            self._generation += 1
            self._running = True
            self._status = replace(self._status, state=NodeState.RUNNING, instruction=instruction,
                                   last_error='')
        self._wake.set()
        self._on_status(self.status)

    def hold(self, reason: str = '', *, state: NodeState = NodeState.HOLDING) -> None:
        """Stop executing and hold the measured position; no older chunk is sent afterwards."""
        with self._lock:
            self._generation += 1
            self._running = False
            self._send_hold_locked()
            self._status = replace(self._status, state=state, last_error=reason or
                                   self._status.last_error)
        self._wake.set()
        self._on_status(self.status)

    def stop(self) -> None:
        """Hold now and refuse ``start`` until ``resume`` (an emergency-stop latch)."""
        with self._lock:
            self._stopped = True
        self.hold('stopped by vla/stop')

    def resume(self) -> None:
        """Clear the stop latch; the robot keeps holding until the next ``start``."""
        with self._lock:
            self._stopped = False
            self._status = replace(self._status, state=NodeState.IDLE, last_error='')
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
        self._thread.join(timeout=10.0)

    def _send_hold_locked(self) -> None:
        """Hold the measured position, once: re-sending it would creep as the arm sags."""
        if self._holding:
            return
        try:
            measured = self._buffer.joint_positions(self._joint_names)
        except InputError:
            return  # nothing measured yet: nothing was ever commanded either
        hold = hold_trajectory(self._joint_names, measured)
        for controller, command in split_by_controller(hold, self._controllers).items():
            self._sink(controller, command)
        self._holding = True

    def _loop(self) -> None:
        while True:
            with self._lock:
                if self._closed:
                    return
                running, generation = self._running, self._generation
                instruction = self._status.instruction
            if not running:
                self._wake.wait(timeout=0.5)
                self._wake.clear()
                continue
            pause_s = self._cycle(generation, instruction)
            self._wake.wait(timeout=pause_s)
            self._wake.clear()

    def _cycle(self, generation: int, instruction: str) -> float:
        """One inference and publish; returns how long to wait before the next cycle."""
        try:
            observation = self._buffer.snapshot(self._joint_names, instruction)
            started = time.perf_counter()
            chunk = self._policy.infer(observation)
            latency_ms = 1e3 * (time.perf_counter() - started)
            if chunk.joint_names != self._joint_names:
                raise PolicyOutputError(
                    f'policy returned joints {chunk.joint_names!r}, '
                    f'expected {self._joint_names!r}')
            planned = plan_trajectory(
                chunk, measured=observation.joint_positions, limits=self._limits,
                max_step_rad=self._safety.max_step_rad, horizon=self._horizon)
        except (InputError, PolicyOutputError) as err:
            self._fail(generation, str(err))
            return RETRY_PERIOD_S
        except Exception as err:  # a bug, not bad input: hold, stop and show it
            _LOG.exception('inference cycle failed unexpectedly')
            self.hold(f'internal error: {err!r}', state=NodeState.ERROR)
            return RETRY_PERIOD_S
        with self._lock:
            if generation != self._generation:
                return 0.0  # stopped or switched during inference: drop this chunk
            for controller, command in split_by_controller(planned.command,
                                                           self._controllers).items():
                self._sink(controller, command)
            self._holding = False
            self._latency_sum_ms += latency_ms
            chunks = self._status.chunks + 1
            self._status = replace(
                self._status, state=NodeState.RUNNING, last_latency_ms=latency_ms,
                mean_latency_ms=self._latency_sum_ms / chunks, chunks=chunks,
                corrections=self._status.corrections + planned.corrections)
        self._on_status(self.status)
        return float(planned.command.times_from_start_s[-1])

    def _fail(self, generation: int, message: str) -> None:
        with self._lock:
            if generation != self._generation:
                return
            self._send_hold_locked()
            self._status = replace(self._status, state=NodeState.ERROR, last_error=message,
                                   errors=self._status.errors + 1)
        _LOG.warning('holding: %s', message)
        self._on_status(self.status)

