# SPDX-License-Identifier: Apache-2.0
# Copyright 2026 The vla_ros authors
"""PolicyDeadline: when a chunk in flight is late, and when a failing remote policy is given up."""

from __future__ import annotations

import pytest

from vla_ros.core.remote_config import RemoteServerConfig
from vla_ros.execution.policy_deadline import PolicyDeadline

SERVER = RemoteServerConfig(url='ws://gpu:8000', patience_s=3.0)


@pytest.mark.parametrize(('plan_end_s', 'generation', 'now_s', 'late'), [
    (None, 1, 99.0, False),  # no plan ran (sync waits at rest): no deadline
    (10.0, 1, 10.0, False),  # the plan had already run out when the inference began
    (12.0, 1, 11.9, False),  # before the plan's end
    (12.0, 1, 12.0, True),   # at the plan's end
    (12.0, 2, 12.5, False),  # the runner moved on (hold, new instruction)
], ids=['no-plan', 'plan-over', 'before-end', 'at-end', 'other-generation'])
def test_an_inference_is_late_only_when_a_plan_it_should_continue_runs_out(
        plan_end_s: float | None, generation: int, now_s: float, late: bool) -> None:
    deadline = PolicyDeadline(SERVER)
    deadline.began(generation=1, now_s=10.0, plan_end_s=plan_end_s)
    message = deadline.missed(generation=generation, now_s=now_s)
    assert bool(message) is late
    if late:
        assert message == ('no chunk from policy server ws://gpu:8000 when the plan ran out '
                           '(2.00 s after its inference began); holding until one comes')
        assert deadline.missed(generation=1, now_s=now_s + 1.0) == ''  # reported once


def test_a_chunk_in_time_clears_the_deadline() -> None:
    deadline = PolicyDeadline(None)
    deadline.began(generation=1, now_s=10.0, plan_end_s=12.0)
    deadline.ended(chunk=True, now_s=11.0)
    assert deadline.missed(generation=1, now_s=13.0) == ''


def test_a_remote_policy_is_given_up_past_its_patience_counted_from_the_first_failure() -> None:
    deadline = PolicyDeadline(SERVER)
    deadline.began(generation=1, now_s=10.0, plan_end_s=12.0)
    assert deadline.missed(generation=1, now_s=12.1)  # the wait counts from the plan's end
    deadline.ended(chunk=False, now_s=14.0)  # a later timeout does not restart the count
    assert deadline.impatient(now_s=15.0, last_error='x') == ''
    assert deadline.impatient(now_s=15.5, last_error='no reply') == (
        'gave up: no chunk from policy server ws://gpu:8000 for 3.5 s '
        '(policy.server.patience_s 3); last error: no reply')


@pytest.mark.parametrize('recovery', ['chunk', 'reset'])
def test_a_chunk_or_a_new_instruction_restarts_the_patience(recovery: str) -> None:
    deadline = PolicyDeadline(SERVER)
    deadline.ended(chunk=False, now_s=10.0)
    if recovery == 'chunk':
        deadline.ended(chunk=True, now_s=12.0)
    else:
        deadline.reset()
    deadline.ended(chunk=False, now_s=14.0)
    assert deadline.impatient(now_s=16.0, last_error='') == ''
    assert deadline.impatient(now_s=17.5, last_error='')


def test_a_local_policy_is_never_given_up() -> None:
    deadline = PolicyDeadline(None)
    deadline.ended(chunk=False, now_s=0.0)
    assert deadline.impatient(now_s=1e6, last_error='') == ''
    deadline.began(generation=1, now_s=0.0, plan_end_s=1.0)
    assert deadline.missed(generation=1, now_s=1.0).startswith('no chunk from the policy when')
