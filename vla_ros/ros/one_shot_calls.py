# SPDX-License-Identifier: Apache-2.0
# Copyright 2026 The vla_ros authors
"""One call to a running policy node from a short-lived client (`vla-ros instruct`, `execute`).

`vla-ros stop` and `resume` use it too. Each function starts its own ``InProcessGraph`` with
one client node, makes one service call or runs one action goal (``vla_ros.ros.clients``, every
wait with a deadline), and answers with a plain value type, so the verbs print without touching
a message. A missing service or action server raises ``ClientTimeoutError`` (a
``TimeoutError``).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

from rclpy.node import Node
from std_srvs.srv import Trigger

from vla_ros.action import ExecuteInstruction
from vla_ros.ros.clients import call_service, execute_instruction, set_instruction
from vla_ros.ros.in_process import InProcessGraph

__all__ = ['GoalFeedback', 'GoalResult', 'ServiceAnswer', 'execute_once', 'instruct_once',
           'trigger_once']


@dataclass(frozen=True, slots=True)
class ServiceAnswer:
    """A service's answer: whether it did what was asked (``accepted``/``success``), and why."""

    ok: bool
    message: str


@dataclass(frozen=True, slots=True)
class GoalFeedback:
    """One ExecuteInstruction feedback message.

    Attributes:
        elapsed_s: since the goal started, on the policy node's clock, s.
        chunks_executed: chunks sent to the controllers so far.
        last_inference_latency_ms: the latest chunk's inference time, ms.
        state: the policy node's ``PolicyStatus`` ``STATE_*`` constant.
    """

    elapsed_s: float
    chunks_executed: int
    last_inference_latency_ms: float
    state: int

    @classmethod
    def from_msg(cls, msg: ExecuteInstruction.Feedback) -> GoalFeedback:
        """The value of a feedback message."""
        return cls(elapsed_s=float(msg.elapsed_s), chunks_executed=int(msg.chunks_executed),
                   last_inference_latency_ms=float(msg.last_inference_latency_ms),
                   state=int(msg.state))


@dataclass(frozen=True, slots=True)
class GoalResult:
    """An ExecuteInstruction goal's result: ran to its timeout without error, why, chunks."""

    success: bool
    message: str
    chunks_executed: int

    @classmethod
    def from_msg(cls, msg: ExecuteInstruction.Result) -> GoalResult:
        """The value of a result message."""
        return cls(success=bool(msg.success), message=str(msg.message),
                   chunks_executed=int(msg.chunks_executed))


def instruct_once(instruction: str, *, service: str, timeout_s: float) -> ServiceAnswer:
    """Call the SetInstruction ``service`` once; its ``accepted`` and message."""
    with InProcessGraph() as graph:
        node = graph.add(Node, node_name='vla_ros_instruct')
        response = set_instruction(node, instruction, service=service, timeout_s=timeout_s)
    return ServiceAnswer(ok=bool(response.accepted), message=str(response.message))


def trigger_once(service: str, *, node_name: str, timeout_s: float) -> ServiceAnswer:
    """Call the std_srvs/Trigger ``service`` once; its ``success`` and message."""
    with InProcessGraph() as graph:
        node = graph.add(Node, node_name=node_name)
        response = call_service(node, Trigger, service, Trigger.Request(), timeout_s=timeout_s)
    return ServiceAnswer(ok=bool(response.success), message=str(response.message))


def execute_once(instruction: str, *, duration_s: float, action: str,
                 on_feedback: Callable[[GoalFeedback], None]) -> GoalResult | None:
    """Run one ExecuteInstruction goal to its result; None when the goal was rejected."""
    with InProcessGraph() as graph:
        node = graph.add(Node, node_name='vla_ros_execute')
        accepted, result = execute_instruction(
            node, instruction, duration_s=duration_s, action=action,
            on_feedback=lambda msg: on_feedback(GoalFeedback.from_msg(msg)))
    return GoalResult.from_msg(result) if accepted and result is not None else None
