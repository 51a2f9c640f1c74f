# SPDX-License-Identifier: Apache-2.0
# Copyright 2026 The vla_ros authors
"""The runner's contract in types: the fault behind an ERROR, the stop latch and its refusal.

Uses ``test_runner``'s real StepPolicy and Rig (a runner on the tabletop arm's limits, fed on a
manual clock); ``BuggyPolicy`` is a StepPolicy with a bug the test switches on.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
import re

import pytest
from test_runner import Fault, Rig, StepPolicy

from vla_ros.core.errors import SafetyViolation
from vla_ros.core.types import ActionChunk, NodeState, Observation
from vla_ros.execution.runner_status import RunnerFault, RunnerStatus, STOPPED_REFUSAL


@pytest.fixture
def make_rig() -> Iterator[Callable[[StepPolicy], Rig]]:
    """Makes Rigs for the test and closes their runners after it."""
    rigs: list[Rig] = []

    def make(policy: StepPolicy) -> Rig:
        rigs.append(Rig(policy))
        return rigs[-1]

    yield make
    for rig in rigs:
        rig.runner.close()


class BuggyPolicy(StepPolicy):
    """A StepPolicy that raises KeyError (not a VlaRosError: a bug) while ``buggy`` is set."""

    def __init__(self) -> None:
        super().__init__()
        self.buggy = False
        self.calls = 0

    def infer(self, observation: Observation) -> ActionChunk:
        """Infer, or raise KeyError('joint9') while buggy."""
        self.calls += 1
        if self.buggy:
            raise KeyError('joint9')
        return super().infer(observation)


def test_unexpected_policy_error_is_an_internal_fault_held_until_the_next_start(
        make_rig: Callable[[StepPolicy], Rig]) -> None:
    policy = BuggyPolicy()
    rig = make_rig(policy)
    rig.runner.start('touch the red cube')
    rig.recorder.wait_for_status(lambda s: s.chunks >= 1)
    policy.buggy = True

    failed = rig.recorder.wait_for_status(lambda s: s.state is NodeState.ERROR)
    rig.runner.report_input_error('a late camera frame')  # an input error keeps the fault
    after_input_error = rig.runner.status
    policy.buggy = False
    since = len(rig.recorder.statuses)
    rig.runner.start('touch the red cube')
    restarted = rig.recorder.wait_for_status(lambda s: s.chunks > failed.chunks, since)

    assert failed.fault is RunnerFault.INTERNAL
    assert failed.last_error == "internal error: KeyError('joint9')"
    assert (after_input_error.state, after_input_error.fault) == (
        NodeState.ERROR, RunnerFault.INTERNAL)
    assert (restarted.state, restarted.fault) == (NodeState.RUNNING, RunnerFault.NONE)


def test_bad_policy_output_is_an_input_fault_that_the_next_chunk_clears(
        make_rig: Callable[[StepPolicy], Rig]) -> None:
    rig = make_rig(StepPolicy())
    rig.runner.start('open the drawer')
    rig.recorder.wait_for_status(lambda s: s.chunks >= 1)
    rig.policy.fault = Fault.NAN

    failed = rig.recorder.wait_for_status(lambda s: s.state is NodeState.ERROR)
    rig.policy.fault = Fault.NONE
    since = len(rig.recorder.statuses)
    recovered = rig.recorder.wait_for_status(lambda s: s.chunks > failed.chunks, since)

    assert failed.fault is RunnerFault.INPUT
    assert 'contains NaN or Inf' in failed.last_error
    assert (recovered.state, recovered.fault) == (NodeState.RUNNING, RunnerFault.NONE)


def test_stop_refuses_start_with_the_stopped_refusal_until_resume(
        make_rig: Callable[[StepPolicy], Rig]) -> None:
    rig = make_rig(StepPolicy())
    rig.runner.start('wave')
    rig.recorder.wait_for_status(lambda s: s.chunks >= 1)

    rig.runner.stop()
    stopped, refusal = rig.runner.status, rig.runner.refusal
    with pytest.raises(SafetyViolation, match=f'^{re.escape(STOPPED_REFUSAL)}$'):
        rig.runner.start('wave')
    rig.runner.resume()
    resumed, refusal_after_resume = rig.runner.status, rig.runner.refusal

    assert refusal == STOPPED_REFUSAL
    assert (stopped.state, stopped.fault, stopped.stopped) == (
        NodeState.HOLDING, RunnerFault.NONE, True)
    assert stopped.last_error == 'stopped by vla/stop'
    assert refusal_after_resume is None
    assert (resumed.state, resumed.stopped, resumed.last_error) == (NodeState.IDLE, False, '')


@pytest.mark.parametrize(('state', 'fault', 'valid'), [
    (NodeState.IDLE, RunnerFault.NONE, True),
    (NodeState.RUNNING, RunnerFault.NONE, True),
    (NodeState.HOLDING, RunnerFault.NONE, True),
    (NodeState.ERROR, RunnerFault.INTERNAL, True),
    (NodeState.ERROR, RunnerFault.CLOCK, True),
    (NodeState.ERROR, RunnerFault.NONE, False),
    (NodeState.RUNNING, RunnerFault.INPUT, False),
    (NodeState.HOLDING, RunnerFault.JOINTS, False),
], ids=['idle', 'running', 'holding', 'error-internal', 'error-clock', 'error-without-fault',
        'running-with-fault', 'holding-with-fault'])
def test_status_has_a_fault_exactly_when_its_state_is_error(
        state: NodeState, fault: RunnerFault, valid: bool) -> None:
    if valid:
        assert RunnerStatus(state=state, fault=fault).fault is fault
    else:
        with pytest.raises(ValueError, match='ERROR, and only ERROR, has a fault'):
            RunnerStatus(state=state, fault=fault)


def test_a_hold_with_a_fault_is_an_error_and_without_one_a_hold(
        make_rig: Callable[[StepPolicy], Rig]) -> None:
    rig = make_rig(StepPolicy())
    rig.runner.hold('configured joints are missing', fault=RunnerFault.JOINTS)
    faulted = rig.runner.status
    rig.runner.hold('operator stop')
    held = rig.runner.status

    assert (faulted.state, faulted.fault) == (NodeState.ERROR, RunnerFault.JOINTS)
    assert faulted.last_error == 'configured joints are missing'
    assert (held.state, held.fault, held.last_error) == (
        NodeState.HOLDING, RunnerFault.NONE, 'operator stop')
