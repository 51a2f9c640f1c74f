# SPDX-License-Identifier: Apache-2.0
# Copyright 2026 The vla_ros authors
"""A remote policy through the whole ROS stack, with the simulated arm and an action goal.

``vla-ros serve`` runs in a subprocess; the node loads ``policy.family: openpi``.

- The served ``checkpoints/flow/reach`` drives a closed-loop episode, and every chunk the
  server sent (``--record``) equals what the same checkpoint loaded here computes for the same
  observations in the same order (same noise seed) to 1e-5.
- Killing the server mid-goal holds the arm: ``vla/status`` says why (naming the server), the
  node stays up, and once the server is back the same goal goes on.
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
import subprocess
import threading

from node_test_constants import ARM_JOINTS, WAIT_S
import numpy as np
import pytest
from rclpy.action import ActionClient
from rclpy.node import Node
from rclpy.parameter import Parameter
from sensor_msgs.msg import JointState
import yaml

from vla_ros.action import ExecuteInstruction
from vla_ros.core.types import Observation
from vla_ros.msg import PolicyStatus
from vla_ros.policies.registry import load_policy
from vla_ros.ros.in_process import InProcessGraph
from vla_ros.ros.nodes.policy_node import PolicyNode
from vla_ros.ros.nodes.sim_node import SimNode
from vla_ros.ros.qos import SENSOR_QOS, STATUS_QOS

REACH = Path('checkpoints') / 'flow' / 'reach'


def serve(repo_root: Path, port: int, record: Path) -> tuple[subprocess.Popen[str], int]:
    """Start ``vla-ros serve`` for the reach checkpoint; returns it and its port."""
    process = subprocess.Popen(
        ['vla-ros', 'serve', '--family', 'flow', '--checkpoint', str(REACH), '--threads', '1',
         '--port', str(port), '--record', str(record)], cwd=repo_root, text=True,
        stdout=subprocess.PIPE, stderr=subprocess.DEVNULL)
    assert process.stdout is not None
    line = process.stdout.readline()
    assert ' on ws://' in line, f'vla-ros serve printed {line!r}, exit code {process.poll()}'
    return process, int(line.split(' on ws://127.0.0.1:')[1].split()[0])


@pytest.fixture
def served(repo_root: Path, tmp_path: Path) -> Iterator[dict[str, object]]:
    """A running server; the test may kill and replace ``state['process']``."""
    process, port = serve(repo_root, 0, tmp_path / 'served')
    state: dict[str, object] = {'process': process, 'port': port, 'record': tmp_path / 'served'}
    yield state
    running = state['process']
    assert isinstance(running, subprocess.Popen)
    running.terminate()
    running.wait(timeout=30)


def remote_config(repo_root: Path, tmp_path: Path, port: int) -> Path:
    raw = yaml.safe_load((repo_root / 'config' / 'tabletop_arm.yaml').read_text())
    raw['embodiment']['urdf'] = str(repo_root / 'urdf' / 'tabletop_arm.urdf')
    raw['sim']['mjcf'] = str(repo_root / 'urdf' / 'tabletop_scene.xml')
    raw['policy'] = {'family': 'openpi', 'server': {
        'url': f'ws://127.0.0.1:{port}', 'timeout_s': 10.0, 'connect_timeout_s': 30.0}}
    path = tmp_path / 'remote.yaml'
    path.write_text(yaml.safe_dump(raw))
    return path


def wait(future, timeout_s: float = WAIT_S):
    done = threading.Event()
    future.add_done_callback(lambda _f: done.set())
    assert done.wait(timeout_s), 'future did not complete in time'
    return future.result()


def test_a_served_policy_runs_an_episode_with_the_local_chunks(
        served: dict[str, object], repo_root: Path, tmp_path: Path, graph: InProcessGraph,
        collect: type) -> None:
    config = remote_config(repo_root, tmp_path, int(str(served['port'])))
    param = [Parameter('config_file', value=str(config))]
    graph.add(SimNode, parameter_overrides=param)
    graph.add(PolicyNode, parameter_overrides=param)
    probe = graph.add(Node, node_name='probe')
    joints, statuses = collect(), collect()
    probe.create_subscription(JointState, 'joint_states', joints, SENSOR_QOS)
    probe.create_subscription(PolicyStatus, 'vla/status', statuses, STATUS_QOS)
    client = ActionClient(probe, ExecuteInstruction, 'vla/execute')
    assert client.wait_for_server(timeout_sec=WAIT_S)
    start = np.array(joints.wait_for(lambda msgs: len(msgs) >= 1)[-1].position)

    handle = wait(client.send_goal_async(
        ExecuteInstruction.Goal(instruction='touch the red cube', timeout_s=2.0)))
    result = wait(handle.get_result_async()).result

    assert result.success, result.message
    # vla/status shows the round trip and the server's own inference time apart.
    timed = statuses.wait_for(lambda msgs: any(m.last_server_time_ms > 0.0 for m in msgs))
    shown = next(m for m in timed if m.last_server_time_ms > 0.0)
    assert shown.last_inference_latency_ms >= shown.last_server_time_ms
    assert result.chunks_executed >= 2
    names = list(joints.messages[-1].name)
    moved = np.array(joints.messages[-1].position) - start
    arm = [names.index(joint) for joint in ARM_JOINTS]
    assert np.abs(moved[arm]).max() > 0.05  # rad: the served chunks moved the arm

    local = load_policy('flow', repo_root / REACH, threads=1)
    recorded = sorted(Path(str(served['record'])).glob('*.npz'))
    assert len(recorded) >= 3  # the node's warm-up, then the episode's chunks
    differences = []
    for path in recorded:
        with np.load(path) as saved:
            observation = Observation(
                images={camera: saved[f'image_{camera}'] for camera in ('front', 'wrist')},
                joint_names=tuple(str(name) for name in saved['joint_names']),
                joint_positions=saved['joint_positions'],
                instruction=str(saved['instruction']))
            differences.append(float(np.abs(
                local.infer(observation).positions - saved['actions']).max()))
    print(f'{len(recorded)} served chunks; largest |served - local|: {max(differences)}')
    assert max(differences) <= 1e-5


def test_killing_the_server_mid_goal_holds_and_the_goal_resumes_after_a_restart(
        served: dict[str, object], repo_root: Path, tmp_path: Path, graph: InProcessGraph,
        collect: type) -> None:
    port = int(str(served['port']))
    param = [Parameter('config_file', value=str(remote_config(repo_root, tmp_path, port)))]
    graph.add(SimNode, parameter_overrides=param)
    graph.add(PolicyNode, parameter_overrides=param)
    probe = graph.add(Node, node_name='probe')
    status, feedback = collect(), collect()
    probe.create_subscription(PolicyStatus, 'vla/status', status, STATUS_QOS)
    client = ActionClient(probe, ExecuteInstruction, 'vla/execute')
    assert client.wait_for_server(timeout_sec=WAIT_S)
    handle = wait(client.send_goal_async(
        ExecuteInstruction.Goal(instruction='touch the red cube', timeout_s=120.0),
        feedback_callback=lambda msg: feedback(msg.feedback)))
    feedback.wait_for(lambda msgs: msgs and msgs[-1].chunks_executed >= 2)

    process = served['process']
    assert isinstance(process, subprocess.Popen)
    process.kill()
    process.wait(timeout=30)
    seen = len(status.messages)
    held = status.wait_for(lambda msgs: any(
        msg.state == PolicyStatus.STATE_ERROR and f'ws://127.0.0.1:{port}' in msg.last_error
        for msg in msgs[seen:]))
    reason = next(msg.last_error for msg in held[seen:] if msg.state == PolicyStatus.STATE_ERROR
                  and f'ws://127.0.0.1:{port}' in msg.last_error)
    assert 'connection lost' in reason or 'unreachable' in reason or 'cannot connect' in reason
    chunks_when_held = feedback.messages[-1].chunks_executed

    served['process'], _ = serve(repo_root, port, tmp_path / 'served_again')
    feedback.wait_for(lambda msgs: msgs[-1].chunks_executed >= chunks_when_held + 2)

    wait(handle.cancel_goal_async())  # the same goal went on: cancelled, not aborted
    assert wait(handle.get_result_async()).result.message == 'canceled'
