# SPDX-License-Identifier: Apache-2.0
# Copyright 2026 The vla_ros authors
"""No joint state, however wrong, makes a published trajectory outrun a joint's velocity limit.

A real ``PolicyRunner`` runs a real policy (``ScriptedPolicy``: it returns the chunks the
example gives it, whatever they are) on the tabletop arm's URDF limits. While each inference
is in flight, the example feeds the buffer joint states: plausible moves, lies (a joint
named twice, far outside its limits, or a jump it cannot make) and anything in between. The
property: every trajectory the runner publishes starts with a point that the velocity limits
can reach in its ``time_from_start`` from the last joint state the buffer accepted (allowing
for that state's age). Inputs are fed only while the runner waits inside the policy, so
what the sink sees of the buffer is what the runner saw.
"""

from __future__ import annotations

from pathlib import Path
import threading

from hypothesis import given, HealthCheck, settings
from hypothesis import strategies as st
import numpy as np
from numpy.typing import NDArray

from vla_ros.core.config import CameraConfig, SafetyConfig
from vla_ros.core.errors import InputError
from vla_ros.core.observation_buffer import JointBounds, ObservationBuffer
from vla_ros.core.types import ActionChunk, JointTrajectoryCommand, Observation
from vla_ros.execution.joint_limits import load_urdf_limits
from vla_ros.execution.runner import PolicyRunner
from vla_ros.policies.base import PolicySpec

URDF = Path(__file__).resolve().parents[2] / 'urdf' / 'tabletop_arm.urdf'
ARM = ('joint1', 'joint2', 'joint3', 'joint4', 'joint5', 'joint6')
JOINTS = (*ARM, 'gripper_joint')
CONTROLLERS = {'arm_controller': ARM, 'gripper_controller': ('gripper_joint',)}
LIMITS = load_urdf_limits(URDF).subset(JOINTS)
BOUNDS = {name: JointBounds(float(lo), float(hi), float(v))
          for name, lo, hi, v in zip(JOINTS, LIMITS.lower, LIMITS.upper, LIMITS.velocity)}
CAMERA = CameraConfig(name='front', topic='camera/front/image_raw', width=4, height=4)
DT_S = 0.1
CHUNK = 4
HOME = np.clip(np.array([0.0, 0.4, 1.2, 0.0, 0.8, 0.0, 0.02]), LIMITS.lower, LIMITS.upper)
WAIT_S = 5.0


class ManualClock:
    """Seconds on a clock that only the test moves (thread-safe reads)."""

    def __init__(self) -> None:
        self.now_s = 100.0

    def __call__(self) -> float:
        """The current time, seconds."""
        return self.now_s


class ScriptedPolicy:
    """Returns the next chunk the test queued, once the test lets each inference finish."""

    def __init__(self) -> None:
        self.spec = PolicySpec(joint_names=JOINTS, camera_names=(CAMERA.name,),
                               image_height=CAMERA.height, image_width=CAMERA.width,
                               chunk_length=CHUNK, dt_s=DT_S)
        self.chunks: list[NDArray[np.float64]] = []
        self.entered = threading.Event()
        self.gate = threading.Event()
        self.closing = False

    def infer(self, observation: Observation) -> ActionChunk:
        """Wait for the gate, then return the next queued chunk (or hold the observation)."""
        self.entered.set()
        if not self.closing and not self.gate.wait(timeout=WAIT_S):
            raise TimeoutError('the test never opened the gate')
        self.gate.clear()
        rows = self.chunks.pop(0) if self.chunks else np.tile(
            observation.joint_positions, (CHUNK, 1))
        return ActionChunk(JOINTS, rows, dt_s=DT_S)


class Checker:
    """The trajectory sink: checks each trajectory against what the buffer accepted."""

    def __init__(self, buffer: ObservationBuffer) -> None:
        self.buffer = buffer
        self.violations: list[str] = []
        self.sent = 0
        self.condition = threading.Condition()

    def send(self, controller: str, command: JointTrajectoryCommand) -> None:
        """Check the first point of ``command`` against the newest accepted joint state."""
        measured = self.buffer.joint_positions(command.joint_names)
        age_s = min(self.buffer.joint_state_age(command.joint_names), STALE_AFTER_S)
        columns = [JOINTS.index(name) for name in command.joint_names]
        reach = LIMITS.velocity[columns] * (command.times_from_start_s[0] + age_s)
        distance = np.abs(command.positions[0] - measured)
        with self.condition:
            if np.any(distance > reach + 1e-9):
                self.violations.append(f'{controller}: first point {command.positions[0]} is '
                                       f'{distance} from {measured}, reach {reach}')
            self.sent += 1
            self.condition.notify_all()

    def wait_for(self, count: int) -> None:
        """Return once ``count`` trajectories were sent."""
        with self.condition:
            assert self.condition.wait_for(lambda: self.sent >= count, WAIT_S), \
                f'{self.sent} trajectories sent, expected {count}'


STALE_AFTER_S = 10.0

#: One joint-state message: (joint index, offset from the last value fed, seconds after the
#: previous message, whether the message names the joint twice).
messages = st.tuples(st.integers(0, len(JOINTS) - 1),
                     st.one_of(st.floats(-0.02, 0.02), st.floats(-12.0, 12.0)),
                     st.floats(0.0, 0.3), st.booleans())
chunks = st.lists(st.floats(-4.0, 4.0), min_size=len(JOINTS), max_size=len(JOINTS)).map(
    lambda offsets: HOME + np.linspace(0.25, 1.0, CHUNK)[:, np.newaxis] * np.array(offsets))


@settings(deadline=None, max_examples=30, suppress_health_check=[HealthCheck.too_slow])
@given(rounds=st.lists(st.tuples(st.lists(messages, max_size=6), chunks),
                       min_size=1, max_size=5))
def test_no_published_trajectory_outruns_the_velocity_limits_from_the_last_good_state(
        rounds: list[tuple[list[tuple[int, float, float, bool]], NDArray[np.float64]]]
        ) -> None:
    clock = ManualClock()
    buffer = ObservationBuffer((CAMERA,), stale_after_s=STALE_AFTER_S, clock=clock,
                               joint_bounds=BOUNDS)
    buffer.put_image(CAMERA.name, np.zeros((4, 4, 3), dtype=np.uint8))
    buffer.put_joint_state(JOINTS, HOME)
    fed = HOME.copy()
    policy = ScriptedPolicy()
    checker = Checker(buffer)
    runner = PolicyRunner(policy=policy, buffer=buffer, controllers=CONTROLLERS, limits=LIMITS,
                          safety=SafetyConfig(stale_after_s=STALE_AFTER_S, max_step_rad=2.0),
                          sink=checker.send, on_status=lambda _: None, clock=clock)
    try:
        runner.start('reach')
        for joint_messages, chunk in rounds:
            assert policy.entered.wait(WAIT_S), 'the runner never asked the policy'
            policy.entered.clear()
            for joint, offset, after_s, twice in joint_messages:
                clock.now_s += after_s
                fed[joint] += offset
                names = JOINTS + (JOINTS[joint],) if twice else JOINTS
                values = np.append(fed, fed[joint] + 1.0) if twice else fed
                try:
                    buffer.put_joint_state(names, values)
                except InputError:
                    fed = buffer.joint_positions(JOINTS).copy()  # a lie: the truth resumes
            policy.chunks.append(chunk)
            sent = checker.sent
            policy.gate.set()
            checker.wait_for(sent + len(CONTROLLERS))
            # The chunk has run (re-timed ones run longer): the next inference is due.
            clock.now_s += CHUNK * DT_S + 0.05
            for _ in range(100):
                if policy.entered.wait(0.02):
                    break
                clock.now_s += DT_S
    finally:
        policy.closing = True
        policy.gate.set()
        runner.close()
    assert checker.sent > 0
    assert not checker.violations, '\n'.join(checker.violations)



def test_a_retimed_chunk_runs_to_its_end_before_the_next_inference() -> None:
    """Sync execution: a chunk delayed to be reachable is not cut short by the next one.

    While the policy infers from the arm at HOME, a joint state reports joint1 0.5 rad on
    (2 rad/s: 0.25 s away, not the 0.1 s the chunk's first step allows), so every point of
    the chunk (HOME again) is delayed 0.15 s. The next inference is due when the delayed
    chunk ends; due at the undelayed end, it would replace the chunk's last 0.15 s (which
    made the FAST reach policy stop short of a cube in closed loop).
    """
    clock = ManualClock()
    buffer = ObservationBuffer((CAMERA,), stale_after_s=STALE_AFTER_S, clock=clock,
                               joint_bounds=BOUNDS)
    buffer.put_image(CAMERA.name, np.zeros((4, 4, 3), dtype=np.uint8))
    buffer.put_joint_state(JOINTS, HOME)
    policy = ScriptedPolicy()
    checker = Checker(buffer)
    runner = PolicyRunner(policy=policy, buffer=buffer, controllers=CONTROLLERS, limits=LIMITS,
                          safety=SafetyConfig(stale_after_s=STALE_AFTER_S, max_step_rad=2.0),
                          sink=checker.send, on_status=lambda _: None, clock=clock)
    moved = HOME.copy()
    moved[0] += 0.5
    try:
        runner.start('reach')
        assert policy.entered.wait(WAIT_S)
        policy.entered.clear()
        clock.now_s += 0.3
        buffer.put_joint_state(JOINTS, moved)
        policy.chunks.append(np.tile(HOME, (CHUNK, 1)))
        sent_at_s = clock.now_s
        policy.gate.set()
        checker.wait_for(len(CONTROLLERS))
        assert runner.status.corrections >= 1  # the chunk was re-timed

        clock.now_s = sent_at_s + CHUNK * DT_S + 0.05  # the undelayed end has passed
        assert not policy.entered.wait(0.5), 'inferred again before the delayed chunk ended'
        clock.now_s = sent_at_s + CHUNK * DT_S + 0.15 + 0.05  # the delayed end has passed
        assert policy.entered.wait(WAIT_S), 'never inferred after the delayed chunk ended'
    finally:
        policy.closing = True
        policy.gate.set()
        runner.close()
    assert not checker.violations, '\n'.join(checker.violations)
