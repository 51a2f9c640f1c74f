# SPDX-License-Identifier: Apache-2.0
# Copyright 2026 The vla_ros authors
"""``vla-ros serve --ray``: a real local Ray, two Ray Serve replicas, our openpi clients.

``vla-ros serve --ray --replicas 2`` runs in a subprocess (it starts its own local Ray with
2 CPUs) and serves the session's tiny random flow checkpoint, marked as trained with
``--joint-deltas``. Four ``OpenpiPolicy`` clients send their requests together; each must get
exactly the chunks a freshly loaded copy of the checkpoint gives it plus the joints it sent
(its noise stream travels with each request to whichever replica serves it, and the replica
adds the observed joints to the offsets), and the server's log must show that both replicas
served them.
"""

from __future__ import annotations

import ast
from collections import Counter
from collections.abc import Callable, Iterator
from dataclasses import dataclass
import http.client
import json
from pathlib import Path
import queue
import re
import shutil
import signal
import subprocess
import threading

import numpy as np
import pytest
from websockets.sync.client import connect

from vla_ros.core.remote_config import RemoteServerConfig
from vla_ros.core.types import Observation
from vla_ros.policies.registry import load_policy
from vla_ros.policies.remote.openpi import OpenpiPolicy
from vla_ros.policies.remote.wire_codec import pack, unpack

CLIENTS = 4
STEPS = 3
INSTRUCTIONS = ('pick up the red cube', 'push the blue block to the left edge', 'stop', 'reach')
START_DEADLINE_S = 300.0  # Ray start plus two replicas loading (a deadline, not a timing claim)
LOG_DEADLINE_S = 60.0
DONE = 'client done: '


@dataclass
class RayServe:
    """The running ``vla-ros serve --ray`` and the lines it wrote to stderr so far."""

    process: subprocess.Popen[str]
    url: str
    stderr: queue.Queue[str]

    @property
    def port(self) -> int:
        """The TCP port in ``url``."""
        return int(self.url.rsplit(':', 1)[1])

    def served_by(self, clients: int) -> list[Counter[str]]:
        """The replica counts of the next ``clients`` connections to close, from the log."""
        counts: list[Counter[str]] = []
        while len(counts) < clients:
            line = self.stderr.get(timeout=LOG_DEADLINE_S)
            if DONE in line:
                counts.append(Counter(ast.literal_eval(line.split('replicas ', 1)[1])))
        return counts


def _drain(stream: Iterator[str], lines: queue.Queue[str]) -> None:
    for line in stream:
        lines.put(line)


@pytest.fixture(scope='module')
def delta_checkpoint(flow_checkpoint: Path, tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The random checkpoint, its rows marked as offsets from the observed joints."""
    checkpoint = tmp_path_factory.mktemp('delta') / 'random'
    shutil.copytree(flow_checkpoint, checkpoint)
    settings_file = checkpoint / 'vla_ros_policy.json'
    settings = json.loads(settings_file.read_text())
    settings['action_rows'] = 'joint_delta'
    settings_file.write_text(json.dumps(settings))
    return checkpoint


@pytest.fixture(scope='module')
def ray_serve(delta_checkpoint: Path, repo_root: Path) -> Iterator[RayServe]:
    process = subprocess.Popen(
        ['vla-ros', 'serve', '--ray', '--replicas', '2', '--num-cpus-per-replica', '1',
         '--family', 'flow', '--checkpoint', str(delta_checkpoint), '--threads', '1',
         '--port', '0'], cwd=repo_root, stdout=subprocess.PIPE, stderr=subprocess.PIPE,
        text=True)
    assert process.stdout is not None and process.stderr is not None
    stdout: queue.Queue[str] = queue.Queue()
    stderr: queue.Queue[str] = queue.Queue()
    for stream, lines in ((process.stdout, stdout), (process.stderr, stderr)):
        threading.Thread(target=_drain, args=(stream, lines), daemon=True).start()
    try:
        line = stdout.get(timeout=START_DEADLINE_S)  # the first line names the URL
        assert ' on ws://' in line and '2 Ray Serve replicas' in line, line
        yield RayServe(process, line.split(' on ')[1].split()[0], stderr)
    finally:
        process.send_signal(signal.SIGTERM)
        code = process.wait(timeout=120)
    assert code == 0


@pytest.fixture
def requests(make_observation: Callable[..., Observation]) -> list[list[Observation]]:
    """``requests[client][step]``: each client its own instruction, images and pose."""
    return [[make_observation(seed=10 * client + step, instruction=INSTRUCTIONS[client])
             for step in range(STEPS)] for client in range(CLIENTS)]


def fresh_policy_chunks(checkpoint: Path, observations: list[Observation]) -> list[np.ndarray]:
    """What a freshly loaded policy infers for ``observations``, in order, plus their joints."""
    local = load_policy('flow', checkpoint, threads=1)
    return [local.infer(obs).positions + obs.positions_for(local.spec.joint_names)
            for obs in observations]


def test_four_clients_get_a_fresh_policys_chunks_from_both_replicas(
        ray_serve: RayServe, delta_checkpoint: Path,
        requests: list[list[Observation]]) -> None:
    clients = [OpenpiPolicy(RemoteServerConfig(url=ray_serve.url, timeout_s=120.0))
               for _ in range(CLIENTS)]
    chunks: list[list[np.ndarray]] = [[] for _ in range(CLIENTS)]
    barrier = threading.Barrier(CLIENTS, timeout=120)

    def robot(client: int) -> None:
        for obs in requests[client]:
            barrier.wait()  # the four requests of a step arrive together
            chunks[client].append(clients[client].infer(obs).positions)

    threads = [threading.Thread(target=robot, args=(client,)) for client in range(CLIENTS)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=300)
    assert not any(thread.is_alive() for thread in threads)
    for client in clients:
        client.close()
    served_by = ray_serve.served_by(CLIENTS)

    for client in range(CLIENTS):
        reference = fresh_policy_chunks(delta_checkpoint, requests[client])
        assert len(chunks[client]) == STEPS
        for step in range(STEPS):
            np.testing.assert_allclose(chunks[client][step], reference[step], rtol=0,
                                       atol=1e-6, err_msg=f'client {client} step {step}')
    assert np.abs(chunks[0][0] - chunks[1][0]).max() > 1e-3  # nobody got another's chunk
    assert [sum(counts.values()) for counts in served_by] == [STEPS] * CLIENTS
    replicas = sum(served_by, Counter())
    assert len(replicas) == 2 and min(replicas.values()) > 0, served_by


def test_each_reply_names_its_replica_and_a_new_connection_starts_a_fresh_stream(
        ray_serve: RayServe, delta_checkpoint: Path,
        requests: list[list[Observation]]) -> None:
    obs = requests[2][0]
    with connect(ray_serve.url, compression=None, proxy=None, legacy=True,
                 max_size=None) as connection:
        metadata = unpack(connection.recv(timeout=30))
        connection.send(pack({'images': dict(obs.images), 'joint_names': list(obs.joint_names),
                              'joint_positions': obs.joint_positions, 'prompt': obs.instruction}))
        reply = unpack(connection.recv(timeout=120))
    (counts,) = ray_serve.served_by(1)

    assert metadata['vla_ros']['spec']['chunk_length'] == reply['actions'].shape[0]
    assert counts == Counter({reply['server_timing']['replica']: 1})
    np.testing.assert_allclose(reply['actions'], fresh_policy_chunks(delta_checkpoint, [obs])[0],
                               rtol=0, atol=1e-6)


def test_the_endpoint_keeps_healthz_and_one_line_errors(
        ray_serve: RayServe, requests: list[list[Observation]]) -> None:
    health = http.client.HTTPConnection('127.0.0.1', ray_serve.port, timeout=30)
    health.request('GET', '/healthz')
    response = health.getresponse()
    assert (response.status, response.read()) == (200, b'OK\n')

    good = requests[0][0]
    one_camera = sorted(good.images)[0]
    with connect(ray_serve.url, compression=None, proxy=None, legacy=True,
                 max_size=None) as connection:
        connection.recv(timeout=30)
        connection.send(pack({'images': {one_camera: good.images[one_camera]},
                              'joint_names': list(good.joint_names),
                              'joint_positions': good.joint_positions, 'prompt': 'reach'}))
        text = connection.recv(timeout=120)
    # the replica's InputError reaches the client as the local server words it
    assert isinstance(text, str) and text.startswith('InputError: camera'), text
    assert 'Traceback' not in text and '\n' not in text
    ray_serve.served_by(1)


@pytest.mark.parametrize(('flags', 'message'), [
    (('--replicas', '2'), 'serve: --replicas needs --ray'),
    (('--ray', '--max-batch', '4'),
     'serve: --ray serves one request at a time per replica; --max-batch and --record are '
     'for the local server'),
    (('--ray', '--device', 'cuda'),
     'serve: --device cuda with --ray needs --num-gpus-per-replica above 0 (Ray hides GPUs '
     'otherwise)'),
    (('--ray', '--replicas', '0'), 'serve: --replicas 0, expected 1 to 1024'),
], ids=['replicas-without-ray', 'ray-with-batching', 'cuda-without-gpus', 'zero-replicas'])
def test_ray_options_that_cannot_work_fail_at_start(
        flow_checkpoint: Path, repo_root: Path, flags: tuple[str, ...], message: str) -> None:
    done = subprocess.run(['vla-ros', 'serve', '--family', 'flow', '--checkpoint',
                           str(flow_checkpoint), '--port', '0', *flags],
                          cwd=repo_root, capture_output=True, text=True, timeout=120)
    assert done.returncode == 1
    assert done.stderr.strip().splitlines() == [f'vla-ros serve: {message}']


def test_more_gpus_than_the_ray_cluster_has_fail_at_start(flow_checkpoint: Path,
                                                          repo_root: Path) -> None:
    done = subprocess.run(['vla-ros', 'serve', '--family', 'flow', '--checkpoint',
                           str(flow_checkpoint), '--port', '0', '--device', 'cuda', '--ray',
                           '--replicas', '2', '--num-gpus-per-replica', '64'],
                          cwd=repo_root, capture_output=True, text=True, timeout=300)
    assert done.returncode == 1
    assert re.fullmatch(r'vla-ros serve: serve --ray: 2 replicas x 64 GPU need 128, the Ray '
                        r'cluster has \d+', done.stderr.strip().splitlines()[-1]), done.stderr
