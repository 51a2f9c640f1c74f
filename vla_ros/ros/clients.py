# SPDX-License-Identifier: Apache-2.0
# Copyright 2026 The vla_ros authors
"""Client calls to a policy node, each with a deadline: the instruction service and the action.

The node passed in must be spinning on some executor (these functions only wait on futures).
"""

from __future__ import annotations

from collections.abc import Callable
import threading
import time
from typing import Any

from rclpy.action.client import ActionClient
from rclpy.client import Client
from rclpy.node import Node
from rclpy.task import Future

from vla_ros.action import ExecuteInstruction
from vla_ros.srv import SetInstruction

__all__ = ['ClientTimeoutError', 'call_service', 'execute_instruction', 'set_instruction',
           'wait_for_future']


class ClientTimeoutError(TimeoutError):
    """A service or action did not answer before its deadline."""


def wait_for_future(future: Future[Any], timeout_s: float, what: str) -> Any:
    """The future's result; ClientTimeoutError naming ``what`` after ``timeout_s``."""
    done = threading.Event()
    future.add_done_callback(lambda _future: done.set())
    if not done.wait(timeout=timeout_s):
        raise ClientTimeoutError(f'{what}: no answer within {timeout_s:.1f} s')
    return future.result()


def call_service(node: Node, srv_type: type[Any], service: str, request: object, *,
                 timeout_s: float = 10.0) -> Any:
    """Call ``service`` once and return its response, waiting at most ``timeout_s`` twice."""
    client: Client[Any, Any] = node.create_client(srv_type, service)
    try:
        if not client.wait_for_service(timeout_sec=timeout_s):
            raise ClientTimeoutError(f'service {service!r} not available within {timeout_s:.1f} s')
        return wait_for_future(client.call_async(request), timeout_s, service)
    finally:
        node.destroy_client(client)


def set_instruction(node: Node, instruction: str, *, service: str = 'vla/set_instruction',
                    timeout_s: float = 10.0) -> SetInstruction.Response:
    """Call the instruction service and return its response."""
    return call_service(node, SetInstruction, service,
                        SetInstruction.Request(instruction=instruction), timeout_s=timeout_s)


#: How often ``execute_instruction`` asks its ``cancel_when``, seconds.
CANCEL_POLL_S = 0.05


def execute_instruction(node: Node, instruction: str, *, duration_s: float,
                        action: str = 'vla/execute', server_timeout_s: float = 10.0,
                        result_timeout_s: float | None = None,
                        on_feedback: Callable[[ExecuteInstruction.Feedback], None] | None = None,
                        cancel_when: Callable[[], bool] | None = None,
                        ) -> tuple[bool, ExecuteInstruction.Result | None]:
    """Send an ExecuteInstruction goal and wait for its result.

    ``cancel_when``, asked every ``CANCEL_POLL_S`` while the goal runs, cancels the goal (the
    robot holds) the first time it returns True; the result is then the canceled one.
    ``result_timeout_s`` bounds the wall-clock wait for the result after the goal is accepted
    (default ``duration_s + server_timeout_s``). A policy node on simulated time runs the goal
    for ``duration_s`` simulated seconds, which a slowed-down simulator stretches: a caller
    driving a simulator passes more.

    Returns:
        (accepted, result); result is None when the goal was rejected.
    """
    client: ActionClient[Any, Any, Any] = ActionClient(node, ExecuteInstruction, action)
    try:
        if not client.wait_for_server(timeout_sec=server_timeout_s):
            raise ClientTimeoutError(
                f'action {action!r} not available within {server_timeout_s:.1f} s')
        goal = ExecuteInstruction.Goal(instruction=instruction, timeout_s=duration_s)
        callback = None if on_feedback is None else (lambda msg: on_feedback(msg.feedback))
        handle = wait_for_future(client.send_goal_async(goal, feedback_callback=callback),
                       server_timeout_s, f'{action} goal')
        if not handle.accepted:
            return False, None
        result_future = handle.get_result_async()
        if result_timeout_s is None:
            result_timeout_s = duration_s + server_timeout_s
        deadline_s = time.monotonic() + result_timeout_s
        if cancel_when is not None:
            finished = threading.Event()
            result_future.add_done_callback(lambda _future: finished.set())
            while not finished.wait(CANCEL_POLL_S) and time.monotonic() < deadline_s:
                if cancel_when():
                    wait_for_future(handle.cancel_goal_async(), server_timeout_s,
                                    f'{action} cancel')
                    break
        response = wait_for_future(result_future, max(0.0, deadline_s - time.monotonic()),
                                   f'{action} result')
        return True, response.result
    finally:
        client.destroy()
