# SPDX-License-Identifier: Apache-2.0
# Copyright 2026 The vla_ros authors
"""The inference worker: limited chunks to each controller, holds that stick, errors that recover.

``StepPolicy`` is a small real policy (it implements the Policy protocol deterministically: move
joint1 by 0.1 rad per chunk step from the observed position, down when the instruction says
"down", else up), not a stand-in for a model. The sink records what the node would publish;
inputs age on ``ManualClock``, a clock source moved only by the test. Every wait is on a
condition with a timeout, never a fixed sleep.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
import enum
from pathlib import Path
import re
import threading

import numpy as np
from numpy.testing import assert_allclose
import pytest

from vla_ros.core.config import CameraConfig, SafetyConfig
from vla_ros.core.observation_buffer import ObservationBuffer
from vla_ros.core.types import ActionChunk, JointTrajectoryCommand, NodeState, Observation
from vla_ros.execution.joint_limits import load_urdf_limits
from vla_ros.execution.runner import PolicyRunner, RunnerStatus
from vla_ros.policies.base import PolicySpec

URDF = Path(__file__).resolve().parents[2] / 'urdf' / 'tabletop_arm.urdf'
ARM = ('joint1', 'joint2', 'joint3', 'joint4', 'joint5', 'joint6')
JOINTS = (*ARM, 'gripper_joint')
CONTROLLERS = {'arm_controller': ARM, 'gripper_controller': ('gripper_joint',)}
CAMERA = CameraConfig(name='front', topic='camera/front/image_raw', width=8, height=6)
#: Measured pose: joint1 0.15 rad below its 2.9 rad limit, the gripper fully open (its limit).
MEASURED = np.array([2.75, 0.4, 1.7, 0.0, 1.04, 0.0, 0.04])
DT_S = 0.1
HORIZON = 3
STEP_RAD = 0.1
#: Planned joint1 for an "up" instruction: targets 2.85, 2.95, 3.05 clipped to the URDF's 2.9 rad
#: limit, and for a "down" one: 2.65, 2.55, 2.45. The other joints stay where measured.
PLANNED_JOINT1 = {'up': [2.85, 2.9, 2.9], 'down': [2.65, 2.55, 2.45]}
WAIT_S = 10.0


class ManualClock:
    """Seconds on a clock that only the test moves."""

    def __init__(self, now_s: float = 1000.0) -> None:
        self.now_s = now_s

    def __call__(self) -> float:
        """The current time, seconds."""
        return self.now_s

    def advance(self, seconds: float) -> None:
        """Move the time forward."""
        self.now_s += seconds


class Fault(enum.Enum):
    """How StepPolicy misbehaves."""

    NONE = 'none'
    NAN = 'nan'
    WRONG_JOINTS = 'wrong-joints'


class StepPolicy:
    """Moves joint1 by STEP_RAD per chunk step (down if told "down"); holds the other joints."""

    def __init__(self) -> None:
        self.fault = Fault.NONE
        self.instructions: list[str] = []
        self._spec = PolicySpec(joint_names=JOINTS, camera_names=(CAMERA.name,),
                                image_height=CAMERA.height, image_width=CAMERA.width,
                                chunk_length=4, dt_s=DT_S)

    @property
    def spec(self) -> PolicySpec:
        """What the policy reads and drives."""
        return self._spec

    def infer(self, observation: Observation) -> ActionChunk:
        """The next chunk; raises PolicyOutputError (from ActionChunk) when told to emit NaN."""
        self.instructions.append(observation.instruction)
        steps = np.arange(1, self._spec.chunk_length + 1)
        positions = np.tile(observation.positions_for(JOINTS), (len(steps), 1))
        direction = -1.0 if 'down' in observation.instruction.split() else 1.0
        positions[:, 0] += direction * STEP_RAD * steps
        names = JOINTS
        if self.fault is Fault.NAN:
            positions[1, 2] = np.nan
        elif self.fault is Fault.WRONG_JOINTS:
            names = (*ARM, 'finger_joint')
        return ActionChunk(names, positions, dt_s=self._spec.dt_s)


class GatedPolicy(StepPolicy):
    """A StepPolicy whose inferences after the first wait until the test opens the gate."""

    def __init__(self) -> None:
        super().__init__()
        self.calls = 0
        self.entered = threading.Event()
        self.gate = threading.Event()

    def infer(self, observation: Observation) -> ActionChunk:
        """Infer; from the second call on, first announce the call and wait for the gate."""
        self.calls += 1
        if self.calls > 1:
            self.entered.set()
            if not self.gate.wait(timeout=WAIT_S):
                raise TimeoutError('the test never opened the gate')
        return super().infer(observation)


class Recorder:
    """Records the runner's trajectories and statuses and lets the test wait for them."""

    def __init__(self) -> None:
        self._condition = threading.Condition()
        self.commands: list[tuple[str, JointTrajectoryCommand]] = []
        self.statuses: list[RunnerStatus] = []

    def send(self, controller: str, command: JointTrajectoryCommand) -> None:
        """The trajectory sink."""
        with self._condition:
            self.commands.append((controller, command))
            self._condition.notify_all()

    def on_status(self, status: RunnerStatus) -> None:
        """The status callback."""
        with self._condition:
            self.statuses.append(status)
            self._condition.notify_all()

    def wait_for_commands(self, count: int) -> list[tuple[str, JointTrajectoryCommand]]:
        """The first ``count`` commands, once that many arrived."""
        with self._condition:
            arrived = self._condition.wait_for(lambda: len(self.commands) >= count, WAIT_S)
            assert arrived, f'{len(self.commands)} commands after {WAIT_S} s, expected {count}'
            return self.commands[:count]

    def wait_for_status(self, predicate: Callable[[RunnerStatus], bool],
                        since: int = 0) -> RunnerStatus:
        """The first status from index ``since`` on that satisfies ``predicate``."""
        def match() -> RunnerStatus | None:
            return next((s for s in self.statuses[since:] if predicate(s)), None)

        with self._condition:
            assert self._condition.wait_for(lambda: match() is not None, WAIT_S), \
                f'no matching status in {WAIT_S} s; last: {self.statuses[-1:]}'
            status = match()
            assert status is not None
            return status


class Rig:
    """A runner on the tabletop arm's limits, fed by a buffer on a manual clock."""

    def __init__(self, policy: StepPolicy) -> None:
        self.policy = policy
        self.clock = ManualClock()
        self.buffer = ObservationBuffer((CAMERA,), stale_after_s=1.0, clock=self.clock)
        self.recorder = Recorder()
        self.refresh_inputs()
        self.runner = PolicyRunner(
            policy=policy, buffer=self.buffer, controllers=CONTROLLERS,
            limits=load_urdf_limits(URDF), safety=SafetyConfig(stale_after_s=1.0,
                                                               max_step_rad=0.2),
            horizon=HORIZON, sink=self.recorder.send, on_status=self.recorder.on_status)

    def refresh_inputs(self, *, image: bool = True, joints: bool = True) -> None:
        """Deliver a new camera image and/or joint state at the clock's current time."""
        if image:
            self.buffer.put_image(CAMERA.name, np.zeros((CAMERA.height, CAMERA.width, 3),
                                                        dtype=np.uint8))
        if joints:
            self.buffer.put_joint_state(JOINTS, MEASURED)


@pytest.fixture
def make_rig() -> Iterator[Callable[[StepPolicy], Rig]]:
    rigs: list[Rig] = []

    def make(policy: StepPolicy) -> Rig:
        rigs.append(Rig(policy))
        return rigs[-1]

    yield make
    for rig in rigs:
        if isinstance(rig.policy, GatedPolicy):
            rig.policy.gate.set()
        rig.runner.close()


def is_hold(command: JointTrajectoryCommand) -> bool:
    """A one-point brake: the policy's chunks here have HORIZON points."""
    return len(command.times_from_start_s) == 1


def assert_is_planned_chunk(commands: list[tuple[str, JointTrajectoryCommand]],
                            direction: str = 'up', *, delay_s: float = 0.0) -> None:
    """``commands`` are the StepPolicy chunk from MEASURED, one per controller, as planned.

    ``delay_s``: how much later than one step ahead the first point is expected (a chunk
    whose first point the arm could not reach in time from where it was commanded to be).
    """
    by_controller = dict(commands)
    assert sorted(by_controller) == sorted(CONTROLLERS)
    arm, gripper = by_controller['arm_controller'], by_controller['gripper_controller']
    expected_arm = np.tile(MEASURED[:6], (HORIZON, 1))
    expected_arm[:, 0] = PLANNED_JOINT1[direction]
    assert arm.joint_names == ARM
    assert_allclose(arm.positions, expected_arm, atol=1e-12)
    assert gripper.joint_names == ('gripper_joint',)
    assert_allclose(gripper.positions, np.full((HORIZON, 1), 0.04), atol=1e-12)
    for command in (arm, gripper):
        assert_allclose(command.times_from_start_s,
                        delay_s + DT_S * np.arange(1, HORIZON + 1), atol=1e-9)
        assert command.velocities is not None
        assert_allclose(command.velocities[-1], 0.0)


def assert_is_hold(commands: list[tuple[str, JointTrajectoryCommand]],
                   direction: str = 'up') -> None:
    """``commands`` brake the "up" chunk from MEASURED, one per controller.

    Without an acceleration limit a brake is one point a time step ahead, at rest, on the
    plan's way forward: joint1 between where the plan started and where it ends, never
    behind the start; every other joint where it was measured (the plan does not move them).
    """
    by_controller = dict(commands)
    assert sorted(by_controller) == sorted(CONTROLLERS)
    for controller, joints in CONTROLLERS.items():
        command = by_controller[controller]
        columns = [JOINTS.index(joint) for joint in joints]
        assert command.joint_names == joints
        assert_allclose(command.times_from_start_s, [DT_S])
        assert command.velocities is not None
        assert_allclose(command.velocities, 0.0)
        held = command.positions[0]
        for column, position in zip(columns, held):
            if column == 0:
                low, high = sorted((MEASURED[0], PLANNED_JOINT1[direction][-1]))
                assert low - 1e-12 <= position <= high + 1e-12, position
            else:
                assert position == pytest.approx(MEASURED[column], abs=1e-12)


def test_start_sends_each_controller_the_chunk_clipped_by_the_urdf_limits(
        make_rig: Callable[[StepPolicy], Rig]) -> None:
    rig = make_rig(StepPolicy())
    rig.runner.start('touch the red cube')
    assert_is_planned_chunk(rig.recorder.wait_for_commands(2))
    status = rig.recorder.wait_for_status(lambda s: s.chunks >= 1)
    assert status.state is NodeState.RUNNING
    assert status.instruction == 'touch the red cube'
    assert status.corrections == 2  # joint1's 2.95 and 3.05 rad targets
    assert rig.policy.instructions[0] == 'touch the red cube'


def test_nothing_is_sent_before_start_and_a_hold_without_motion_sends_nothing(
        make_rig: Callable[[StepPolicy], Rig]) -> None:
    rig = make_rig(StepPolicy())
    rig.runner.hold('operator stop')
    assert rig.runner.status.state is NodeState.HOLDING
    assert rig.runner.status.last_error == 'operator stop'
    rig.runner.close()
    assert rig.recorder.commands == []
    assert rig.policy.instructions == []


def test_hold_during_inference_brakes_on_the_plan_and_drops_the_late_chunk(
        make_rig: Callable[[StepPolicy], Rig]) -> None:
    policy = GatedPolicy()
    rig = make_rig(policy)
    rig.runner.start('stack the blocks')
    assert_is_planned_chunk(rig.recorder.wait_for_commands(2))
    assert policy.entered.wait(WAIT_S), 'the second inference never started'
    rig.runner.hold()
    assert rig.runner.status.state is NodeState.HOLDING
    assert_is_hold(rig.recorder.commands[2:])
    policy.gate.set()  # the in-flight inference now returns its chunk...
    rig.runner.close()  # ...and the worker has finished with it once close() returns
    assert len(rig.recorder.commands) == 4, 'a chunk was sent after the hold'
    assert policy.calls == 2


def test_new_instruction_during_inference_drops_the_chunk_of_the_old_one(
        make_rig: Callable[[StepPolicy], Rig]) -> None:
    policy = GatedPolicy()
    rig = make_rig(policy)
    rig.runner.start('move the arm up')
    assert_is_planned_chunk(rig.recorder.wait_for_commands(2), 'up')
    assert policy.entered.wait(WAIT_S), 'the second inference never started'
    rig.runner.start('move the arm down')
    policy.gate.set()  # the "up" chunk of the in-flight inference comes back now
    down = rig.recorder.wait_for_commands(4)[2:]
    # The arm is commanded somewhere on the "up" plan (2.75 to 2.9 rad), the "down" chunk
    # starts from the measured 2.75: its first point (2.65) may lie further from the
    # commanded joint1 than the 2 rad/s limit allows in one step, so it may come later.
    first_s = dict(down)['arm_controller'].times_from_start_s[0]
    assert DT_S - 1e-9 <= first_s <= (2.9 - 2.65) / 2.0 + 1e-9
    assert_is_planned_chunk(down, 'down', delay_s=first_s - DT_S)
    assert policy.instructions[:3] == ['move the arm up', 'move the arm up', 'move the arm down']


@pytest.mark.parametrize(('fault', 'match'), [
    (Fault.NAN, r'ActionChunk\.positions: contains NaN or Inf'),
    (Fault.WRONG_JOINTS,
     r"policy returned joints \(.*'finger_joint'\), expected \(.*'gripper_joint'\)"),
], ids=['nan', 'wrong-joint-names'])
def test_bad_policy_output_holds_once_reports_error_and_recovers(
        make_rig: Callable[[StepPolicy], Rig], fault: Fault, match: str) -> None:
    rig = make_rig(StepPolicy())
    rig.runner.start('open the drawer')
    rig.recorder.wait_for_commands(2)
    rig.policy.fault = fault
    failed = rig.recorder.wait_for_status(lambda s: s.state is NodeState.ERROR)
    assert re.search(match, failed.last_error), failed.last_error
    since = len(rig.recorder.statuses)
    rig.recorder.wait_for_status(lambda s: s.errors >= failed.errors + 2, since)
    commands = list(rig.recorder.commands)
    # One hold per controller, sent once (not once per failed cycle), after the last chunk.
    holds = [index for index, (_, command) in enumerate(commands) if is_hold(command)]
    assert holds == [len(commands) - 2, len(commands) - 1]
    assert_is_hold(commands[-2:])
    rig.policy.fault = Fault.NONE
    since = len(rig.recorder.statuses)
    recovered = rig.recorder.wait_for_status(
        lambda s: s.state is NodeState.RUNNING and s.chunks > failed.chunks, since)
    assert recovered.errors >= failed.errors + 2
    assert_is_planned_chunk(rig.recorder.commands[len(commands):len(commands) + 2])


@pytest.mark.parametrize(('refresh', 'match'), [
    ({'image': True, 'joints': False}, r'joint state is stale: 1\.50 s old'),
    ({'image': False, 'joints': True}, r"camera 'front' \(camera/front/image_raw\) is stale"),
], ids=['joint-state-stale', 'camera-stale'])
def test_stale_input_holds_with_a_stale_error_and_resumes_on_fresh_input(
        make_rig: Callable[[StepPolicy], Rig], refresh: dict[str, bool], match: str) -> None:
    rig = make_rig(StepPolicy())
    rig.runner.start('wipe the table')
    rig.recorder.wait_for_commands(2)
    rig.clock.advance(1.5)
    rig.refresh_inputs(**refresh)
    failed = rig.recorder.wait_for_status(lambda s: s.state is NodeState.ERROR)
    assert 'stale' in failed.last_error
    assert re.search(match, failed.last_error), failed.last_error
    assert_is_hold(rig.recorder.commands[-2:])
    rig.refresh_inputs()
    since = len(rig.recorder.statuses)
    rig.recorder.wait_for_status(
        lambda s: s.state is NodeState.RUNNING and s.chunks > failed.chunks, since)


def test_input_stale_from_the_start_is_an_error_without_any_command(
        make_rig: Callable[[StepPolicy], Rig]) -> None:
    rig = make_rig(StepPolicy())
    rig.clock.advance(5.0)
    rig.runner.start('wave')
    failed = rig.recorder.wait_for_status(lambda s: s.state is NodeState.ERROR)
    assert 'stale' in failed.last_error
    rig.runner.close()
    assert rig.recorder.commands == []  # nothing moved, so there is nothing to hold
    assert rig.policy.instructions == []


def test_action_space_corrections_are_counted_and_summarized_in_the_status() -> None:
    from vla_ros.core.action_space_config import parse_action_space
    from vla_ros.execution.action_space_policy import ActionSpacePolicy
    from vla_ros.execution.action_spaces import ActionSpaceConverter

    class FarReachPolicy:  # asks the tool for 0.5 m in one step and the gripper for 2.0
        spec = PolicySpec(joint_names=JOINTS, camera_names=(CAMERA.name,),
                          image_height=CAMERA.height, image_width=CAMERA.width,
                          chunk_length=2, dt_s=DT_S)

        def infer(self, observation: Observation) -> ActionChunk:
            return ActionChunk(JOINTS, np.array([[0.0, 0.5, 0.0, 0.0, 0.0, 0.0, 2.0]] * 2), DT_S)

    converter = ActionSpaceConverter(
        parse_action_space({'arm_controller': {'type': 'ee_delta', 'frame': 'ee_link'},
                            'gripper_controller': {'type': 'gripper'}}, controllers=CONTROLLERS),
        urdf_path=URDF)
    rig = Rig(ActionSpacePolicy(FarReachPolicy(), converter))  # type: ignore[arg-type]
    try:
        rig.runner.start('touch the red cube')
        status = rig.recorder.wait_for_status(lambda s: s.chunks >= 1)
    finally:
        rig.runner.close()

    assert status.conversion_corrections >= 2  # per chunk: the 0.5 m step and the gripper's 2.0
    assert status.last_conversion.startswith('action conversion: ')
    assert status.state is NodeState.RUNNING and status.last_error == ''
