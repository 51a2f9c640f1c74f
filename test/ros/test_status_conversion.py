# SPDX-License-Identifier: Apache-2.0
# Copyright 2026 The vla_ros authors
"""The runner status as /vla/status and /diagnostics messages carry it."""

from __future__ import annotations

from rclpy.time import Time

from vla_ros.core.types import NodeState
from vla_ros.execution.runner_status import RunnerStatus
from vla_ros.ros.convert import status_to_diagnostics, status_to_msg

STATUS = RunnerStatus(state=NodeState.RUNNING, instruction='touch the red cube', chunks=4,
                      corrections=3, conversion_corrections=5, last_latency_ms=31.5,
                      last_server_ms=22.25,
                      last_conversion='action conversion: 5 values clamped')


def test_status_message_carries_safety_and_conversion_corrections() -> None:
    msg = status_to_msg(STATUS, stamp=Time(seconds=7).to_msg(), dry_run=True)

    assert (msg.state, msg.instruction, msg.chunks_published) == (1, 'touch the red cube', 4)
    assert (msg.safety_corrections, msg.conversion_corrections) == (3, 5)
    assert msg.last_conversion == 'action conversion: 5 values clamped'
    assert msg.dry_run and not msg.stopped and msg.header.stamp.sec == 7
    assert (msg.last_inference_latency_ms, msg.last_server_time_ms) == (31.5, 22.25)


def test_diagnostics_carry_the_conversion_summary() -> None:
    array = status_to_diagnostics(STATUS, name='vla_policy_node', stamp=Time().to_msg())

    values = {pair.key: pair.value for pair in array.status[0].values}
    assert values['conversion_corrections'] == '5'
    assert values['last_conversion'] == 'action conversion: 5 values clamped'
