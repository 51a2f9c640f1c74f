# SPDX-License-Identifier: Apache-2.0
# Copyright 2026 The vla_ros authors
"""The policy node's contract over real DDS: one stop refusal, one normalised instruction.

And a session that cleanup takes down whole and configure builds again.
"""

from __future__ import annotations

import threading
import time

from lifecycle_msgs.msg import Transition
from lifecycle_msgs.srv import ChangeState
from node_test_constants import WAIT_S
from rclpy.action import ActionClient
from rclpy.node import Node
from rclpy.parameter import Parameter
from std_srvs.srv import Trigger

from vla_ros.action import ExecuteInstruction
from vla_ros.execution.runner_status import STOPPED_REFUSAL
from vla_ros.msg import PolicyStatus
from vla_ros.ros.clients import call_service, set_instruction
from vla_ros.ros.motion_gate import NOT_ACTIVE_REFUSAL
from vla_ros.ros.nodes.policy_node import PolicyNode
from vla_ros.ros.qos import STATUS_QOS

#: What configure creates on the node and cleanup must take away.
SESSION_SERVICES = ('/vla/set_instruction', '/vla/stop', '/vla/resume')


def _wait(future, timeout_s: float = WAIT_S):
    done = threading.Event()
    future.add_done_callback(lambda _f: done.set())
    assert done.wait(timeout_s), 'future did not complete in time'
    return future.result()


def _send_goal(probe: Node, instruction: str, timeout_s: float):
    client = ActionClient(probe, ExecuteInstruction, 'vla/execute')
    assert client.wait_for_server(timeout_sec=WAIT_S)
    return _wait(client.send_goal_async(
        ExecuteInstruction.Goal(instruction=instruction, timeout_s=timeout_s)))


def test_stopped_node_refuses_instructions_and_goals_with_the_one_stop_refusal(
        start_nodes, collect):
    probe = start_nodes('policy')
    status = collect()
    probe.create_subscription(PolicyStatus, 'vla/status', status, STATUS_QOS)

    stopped = call_service(probe, Trigger, 'vla/stop', Trigger.Request(), timeout_s=WAIT_S)
    refused = set_instruction(probe, 'touch the red cube', timeout_s=WAIT_S)
    rejected = _send_goal(probe, 'touch the red cube', timeout_s=1.0)
    explained = status.wait_for(lambda msgs: any(
        m.last_error == f'goal rejected: {STOPPED_REFUSAL}' for m in msgs))

    assert stopped.success
    assert (refused.accepted, refused.message) == (False, STOPPED_REFUSAL)
    assert not rejected.accepted
    assert all(m.stopped for m in explained if m.last_error.startswith('goal rejected'))


def test_a_goal_runs_its_instruction_normalised_as_the_status_shows(start_nodes, collect):
    probe = start_nodes('policy')
    status = collect()
    probe.create_subscription(PolicyStatus, 'vla/status', status, STATUS_QOS)

    handle = _send_goal(probe, '\t touch the green cube  \n', timeout_s=0.5)
    result = _wait(handle.get_result_async()).result
    shown = status.wait_for(lambda msgs: any(m.instruction for m in msgs))

    # No camera here: the goal runs, executes no chunk and says so when its time is out.
    assert handle.accepted
    assert result.message.startswith('aborted: no chunk executed in 0.5 s; last error: '
                                     "no image received yet from camera 'front'"), result.message
    assert {m.instruction for m in shown if m.instruction} == {'touch the green cube'}


def _change_state(probe: Node, transition_id: int) -> bool:
    request = ChangeState.Request(transition=Transition(id=transition_id))
    return call_service(probe, ChangeState, 'vla_policy_node/change_state', request,
                        timeout_s=WAIT_S).success


def _wait_for_services(probe: Node, *, present: bool) -> set[str]:
    """The node's session services, once all are there (``present``) or all gone."""
    deadline = time.monotonic() + WAIT_S
    while True:
        names = {name for name, _ in probe.get_service_names_and_types_by_node(
            'vla_policy_node', '/')} & set(SESSION_SERVICES)
        if names == (set(SESSION_SERVICES) if present else set()):
            return names
        assert time.monotonic() < deadline, f'services after {WAIT_S} s: {sorted(names)}'
        time.sleep(0.05)  # polling the graph: it has no change event to wait on


def test_cleanup_takes_the_session_down_and_configure_builds_it_again(graph, config_file):
    graph.add(PolicyNode, parameter_overrides=[
        Parameter('config_file', value=str(config_file)), Parameter('autostart', value=False)])
    probe = graph.add(Node, node_name='probe')

    configured = _change_state(probe, Transition.TRANSITION_CONFIGURE)
    with_session = _wait_for_services(probe, present=True)
    inactive_refusal = set_instruction(probe, 'touch the red cube', timeout_s=WAIT_S)
    cleaned = _change_state(probe, Transition.TRANSITION_CLEANUP)
    without_session = _wait_for_services(probe, present=False)
    reconfigured = _change_state(probe, Transition.TRANSITION_CONFIGURE)
    activated = _change_state(probe, Transition.TRANSITION_ACTIVATE)
    _wait_for_services(probe, present=True)
    accepted = set_instruction(probe, 'touch the red cube', timeout_s=WAIT_S)

    assert configured and cleaned and reconfigured and activated
    assert with_session == set(SESSION_SERVICES) and without_session == set()
    assert (inactive_refusal.accepted, inactive_refusal.message) == (False, NOT_ACTIVE_REFUSAL)
    assert accepted.accepted, accepted.message
