# SPDX-License-Identifier: Apache-2.0
# Copyright 2026 The vla_ros authors
"""The runner under each execution strategy: what reaches the controllers, boundary by boundary.

``FlipPolicy`` is a small real policy: every chunk holds the arm where it is observed, except
joint1, which it sends 0.1 rad up on odd calls and 0.1 rad down on even ones, so consecutive
chunks disagree by 0.2 rad. The sink timestamps each trajectory on the runner's own clock
(monotonic), which makes the sends the arrivals of an ideal controller.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
import dataclasses
import threading
import time
from typing import Any

import numpy as np
from numpy.typing import NDArray
import pytest

from vla_ros.core.config import CameraConfig, ExecutionConfig, ExecutionStrategy, SafetyConfig
from vla_ros.core.observation_buffer import ObservationBuffer
from vla_ros.core.types import ActionChunk, JointTrajectoryCommand, NodeState, Observation
from vla_ros.execution.joint_limits import JointLimits
from vla_ros.execution.runner import PolicyRunner, RunnerStatus
from vla_ros.execution.smoothness import boundary_jumps, TimedTrajectory
from vla_ros.policies.base import PolicySpec

JOINTS = ('joint1', 'joint2')
CONTROLLERS = {'arm_controller': JOINTS}
CAMERA = CameraConfig(name='front', topic='camera/front/image_raw', width=4, height=4)
LIMITS = JointLimits(JOINTS, np.array([-3.0, -3.0]), np.array([3.0, 3.0]), np.array([4.0, 4.0]))
MEASURED = np.array([0.5, -0.2])
WAIT_S = 20.0
CHUNKS = 4
#: RTC's boundary jumps are 0 up to this. Not 1e-3: the buffer's joint state stays at MEASURED
#: (age 0) while the plan moves joint1 0.1 rad away, so a chunk merged late on a loaded machine
#: (a first point under 25 ms ahead) is re-timed to be reachable from MEASURED, and the plan
#: moves with it by a few ms (a 0.004 rad jump seen in a fresh-clone CI run). Sync and async
#: jump 0.2 rad, 10x more.
RTC_JUMP_RAD = 0.02


class FlipPolicy:
    """Joint1 0.1 rad above the observation on odd calls, below on even ones; joint2 held."""

    def __init__(self) -> None:
        self.calls = 0
        self.spec = PolicySpec(joint_names=JOINTS, camera_names=(CAMERA.name,), image_height=4,
                               image_width=4, chunk_length=6, dt_s=0.05)

    def infer(self, observation: Observation) -> ActionChunk:
        """The next chunk."""
        self.calls += 1
        positions = np.tile(observation.positions_for(JOINTS), (self.spec.chunk_length, 1))
        positions[:, 0] += 0.1 if self.calls % 2 else -0.1
        return ActionChunk(JOINTS, positions, dt_s=self.spec.dt_s)


class GuidedFlipPolicy(FlipPolicy):
    """A FlipPolicy that, asked for a guided chunk, returns the prefix wherever it has weight."""

    def __init__(self) -> None:
        super().__init__()
        self.guided_calls: list[tuple[int, NDArray[np.float64]]] = []

    def infer_guided(self, observation: Observation, *, prefix_actions: NDArray[np.float64],
                     prefix_steps: int, weights: NDArray[np.float64],
                     max_guidance_weight: float) -> ActionChunk:
        """The plain chunk, replaced by the prefix where the weights are positive."""
        self.guided_calls.append((prefix_steps, weights.copy()))
        chunk = self.infer(observation)
        positions = np.where((weights > 0.0)[:, np.newaxis], prefix_actions, chunk.positions)
        return ActionChunk(JOINTS, positions, dt_s=chunk.dt_s)


class Arrivals:
    """The sink: each trajectory with its send time, and a wait for a count of them."""

    def __init__(self) -> None:
        self._condition = threading.Condition()
        self.trajectories: list[TimedTrajectory] = []

    def send(self, _controller: str, command: JointTrajectoryCommand) -> None:
        """Record ``command`` as arriving now."""
        with self._condition:
            self.trajectories.append(TimedTrajectory(time.monotonic(), command))
            self._condition.notify_all()

    def wait_for(self, count: int) -> list[TimedTrajectory]:
        """The first ``count`` trajectories."""
        return self.wait_until(lambda sent: len(sent) >= count)[:count]

    def wait_until(self, predicate: Callable[[list[TimedTrajectory]], bool]
                   ) -> list[TimedTrajectory]:
        """Every trajectory so far, once ``predicate`` holds for them."""
        with self._condition:
            assert self._condition.wait_for(lambda: predicate(self.trajectories), WAIT_S), \
                f'condition not met by {len(self.trajectories)} trajectories in {WAIT_S} s'
            return list(self.trajectories)


def run_runner(policy: FlipPolicy, strategy: ExecutionStrategy, **execution: Any
               ) -> Iterator[list[TimedTrajectory]]:
    buffer = ObservationBuffer((CAMERA,), stale_after_s=1.0, clock=lambda: 0.0)
    buffer.put_image(CAMERA.name, np.zeros((4, 4, 3), dtype=np.uint8))
    buffer.put_joint_state(JOINTS, MEASURED)
    arrivals = Arrivals()
    statuses: list[RunnerStatus] = []
    runner = PolicyRunner(
        policy=policy, buffer=buffer, controllers=CONTROLLERS, limits=LIMITS,
        safety=SafetyConfig(max_step_rad=0.5), sink=arrivals.send, on_status=statuses.append,
        execution=ExecutionConfig(strategy=strategy, **{'horizon': 3, **execution}))
    try:
        runner.start('flip joint one')
        yield arrivals.wait_for(CHUNKS)
        assert all(status.state is not NodeState.ERROR for status in statuses)
    finally:
        runner.close()


def jumps(strategy: ExecutionStrategy, policy: FlipPolicy | None = None,
          **execution: Any) -> NDArray[np.float64]:
    for trajectories in run_runner(policy or FlipPolicy(), strategy, **execution):
        return boundary_jumps(trajectories, JOINTS)
    raise AssertionError('the runner sent nothing')


@pytest.mark.parametrize('strategy', [ExecutionStrategy.SYNC, ExecutionStrategy.ASYNC],
                         ids=['sync', 'async'])
def test_sync_and_async_switch_to_each_new_chunk_with_a_jump(
        strategy: ExecutionStrategy) -> None:
    found = jumps(strategy)

    assert len(found) == CHUNKS - 1
    np.testing.assert_allclose(found, 0.2, atol=1e-3)


def test_rtc_continues_the_running_chunk_without_a_jump() -> None:
    found = jumps(ExecutionStrategy.RTC)

    assert len(found) == CHUNKS - 1
    np.testing.assert_allclose(found, 0.0, atol=RTC_JUMP_RAD)


def test_ensemble_averages_the_disagreeing_chunks_into_smaller_jumps() -> None:
    # Inference every step: each step is predicted by several chunks, whatever the latency.
    found = jumps(ExecutionStrategy.ENSEMBLE, ensemble_decay=0.0, horizon=1)

    assert len(found) == CHUNKS - 1
    assert np.all(found < 0.2 - 1e-3)


def test_rtc_asks_a_guided_policy_to_continue_the_plan() -> None:
    policy = GuidedFlipPolicy()

    found = jumps(ExecutionStrategy.RTC, policy)

    np.testing.assert_allclose(found, 0.0, atol=RTC_JUMP_RAD)
    assert len(policy.guided_calls) >= CHUNKS - 1  # every inference after the first
    for prefix_steps, weights in policy.guided_calls:
        assert weights.shape == (6,)
        np.testing.assert_array_equal(weights[:prefix_steps], 1.0)


def test_after_an_input_error_rtc_plans_afresh_from_the_held_position() -> None:
    clock_s = [0.0]
    buffer = ObservationBuffer((CAMERA,), stale_after_s=1.0, clock=lambda: clock_s[0])

    def refresh() -> None:
        buffer.put_image(CAMERA.name, np.zeros((4, 4, 3), dtype=np.uint8))
        buffer.put_joint_state(JOINTS, MEASURED)

    def is_hold(timed: TimedTrajectory) -> bool:  # a brake without an acceleration limit
        return list(timed.command.times_from_start_s) == [0.5]

    refresh()
    policy = FlipPolicy()
    policy.spec = dataclasses.replace(policy.spec, dt_s=0.5)  # a plan that lasts 3 s
    arrivals = Arrivals()
    runner = PolicyRunner(
        policy=policy, buffer=buffer, controllers=CONTROLLERS, limits=LIMITS,
        safety=SafetyConfig(max_step_rad=0.5), sink=arrivals.send, on_status=lambda _: None,
        execution=ExecutionConfig(strategy=ExecutionStrategy.RTC, horizon=1))
    try:
        runner.start('flip joint one')
        arrivals.wait_for(1)
        clock_s[0] = 5.0  # every input is now 5 s old
        held = arrivals.wait_until(lambda sent: any(is_hold(timed) for timed in sent))
        refresh()
        sent = arrivals.wait_until(lambda sent: len(sent) > len(held))
    finally:
        runner.close()

    first_after = sent[len(held)].command
    # A new plan, one step from now, from the measured position; the old plan (still 2 s
    # to go) is forgotten, not continued.
    np.testing.assert_allclose(first_after.times_from_start_s, 0.5 * np.arange(1, 7))
    np.testing.assert_allclose(first_after.positions[:, 1], MEASURED[1])
    np.testing.assert_allclose(np.abs(first_after.positions[:, 0] - MEASURED[0]), 0.1)
