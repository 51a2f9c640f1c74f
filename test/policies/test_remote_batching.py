# SPDX-License-Identifier: Apache-2.0
# Copyright 2026 The vla_ros authors
"""Dynamic batching in ``PolicyServer``: several robots, one forward pass, each its own chunks.

A tiny random flow policy (made in the run) is served on 127.0.0.1; bare websockets clients
send openpi frames and read ``server_timing.batch_size``, so the tests see that batches did
form. "Alone" is each client connected with nobody else: the reference every concurrent run
must reproduce, because each connection samples its noise from its own stream.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from pathlib import Path
import threading

import numpy as np
import pytest
from websockets.sync.client import ClientConnection, connect

from vla_ros.core.errors import ConfigError
from vla_ros.core.types import Observation
from vla_ros.policies.flow.model import FlowPolicy
from vla_ros.policies.registry import load_policy
from vla_ros.policies.remote.batching import BatchOptions
from vla_ros.policies.remote.server import PolicyServer, ServeOptions
from vla_ros.policies.remote.wire_codec import pack, unpack

CLIENTS = 4
STEPS = 3
INSTRUCTIONS = ('pick up the red cube', 'push the blue block to the left edge', 'stop', 'reach')
BATCHED = BatchOptions(window_ms=1000.0, max_batch=CLIENTS)


@pytest.fixture(scope='module')
def flow_policy(flow_checkpoint: Path) -> FlowPolicy:
    policy = load_policy('flow', flow_checkpoint, threads=1)
    assert isinstance(policy, FlowPolicy)
    return policy


@pytest.fixture
def requests(make_observation: Callable[..., Observation]) -> list[list[Observation]]:
    """``requests[client][step]``: each client its own instruction, images and pose."""
    return [[make_observation(seed=10 * client + step, instruction=INSTRUCTIONS[client])
             for step in range(STEPS)] for client in range(CLIENTS)]


def serving(policy: FlowPolicy, batching: BatchOptions) -> PolicyServer:
    server = PolicyServer(policy, ServeOptions(port=0, batching=batching))
    server.start()
    return server


def connect_client(server: PolicyServer) -> ClientConnection:
    connection = connect(f'ws://127.0.0.1:{server.port}', compression=None, proxy=None,
                         legacy=True, max_size=None)
    metadata = connection.recv(timeout=30)
    assert isinstance(metadata, bytes)
    unpack(metadata)
    return connection


def ask(connection: ClientConnection, obs: Observation) -> tuple[np.ndarray, int]:
    """One request: the chunk and the size of the batch it ran in."""
    connection.send(pack({'images': dict(obs.images), 'joint_names': list(obs.joint_names),
                          'joint_positions': obs.joint_positions, 'prompt': obs.instruction}))
    reply = connection.recv(timeout=60)
    assert isinstance(reply, bytes), reply
    answer = unpack(reply)
    return np.asarray(answer['actions']), int(answer['server_timing']['batch_size'])


def alone(server: PolicyServer, observations: list[Observation]) -> list[np.ndarray]:
    connection = connect_client(server)
    chunks = [ask(connection, obs)[0] for obs in observations]
    connection.close()
    return chunks


def together(server: PolicyServer, requests: list[list[Observation]]
             ) -> tuple[list[list[np.ndarray]], list[int]]:
    """Every client connected at once, sending step k together (a barrier per step)."""
    connections = [connect_client(server) for _ in requests]
    chunks: list[list[np.ndarray]] = [[] for _ in requests]
    sizes: list[int] = []
    barrier = threading.Barrier(len(requests), timeout=60)

    def robot(client: int) -> None:
        for obs in requests[client]:
            barrier.wait()
            chunk, size = ask(connections[client], obs)
            chunks[client].append(chunk)
            sizes.append(size)

    threads = [threading.Thread(target=robot, args=(client,)) for client in range(len(requests))]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=120)
    assert not any(thread.is_alive() for thread in threads)
    for connection in connections:
        connection.close()
    return chunks, sizes


@pytest.fixture
def batched_server(flow_policy: FlowPolicy) -> Iterator[PolicyServer]:
    server = serving(flow_policy, BATCHED)
    yield server
    server.close()


def test_four_concurrent_clients_get_exactly_their_chunks_alone(
        batched_server: PolicyServer, requests: list[list[Observation]]) -> None:
    reference = [alone(batched_server, observations) for observations in requests]
    chunks, sizes = together(batched_server, requests)

    assert CLIENTS in sizes, f'no batch of {CLIENTS} formed: {sizes}'
    for client in range(CLIENTS):
        for step in range(STEPS):
            np.testing.assert_allclose(chunks[client][step], reference[client][step],
                                       rtol=0, atol=1e-6, err_msg=f'client {client} step {step}')
    # the clients' chunks differ from each other: nobody got another's row
    assert np.abs(chunks[0][0] - chunks[1][0]).max() > 1e-3


def test_a_lone_client_gets_what_a_freshly_loaded_policy_infers(
        flow_checkpoint: Path, batched_server: PolicyServer,
        requests: list[list[Observation]]) -> None:
    fresh = load_policy('flow', flow_checkpoint, threads=1)
    served = alone(batched_server, requests[0])
    for step, obs in enumerate(requests[0]):
        np.testing.assert_array_equal(served[step], fresh.infer(obs).positions)


def test_one_at_a_time_concurrent_clients_get_bitwise_their_chunks_alone(
        flow_policy: FlowPolicy, requests: list[list[Observation]]) -> None:
    server = serving(flow_policy, BatchOptions())
    try:
        reference = [alone(server, observations) for observations in requests]
        chunks, sizes = together(server, requests)
    finally:
        server.close()
    assert set(sizes) == {1}
    for client in range(CLIENTS):
        for step in range(STEPS):
            np.testing.assert_array_equal(chunks[client][step], reference[client][step])


def test_a_bad_request_in_a_batch_fails_only_its_client(
        batched_server: PolicyServer, requests: list[list[Observation]]) -> None:
    reference = [alone(batched_server, observations[:1]) for observations in requests[:3]]
    connections = [connect_client(batched_server) for _ in range(3)]
    good = requests[0][0]
    first_camera = sorted(good.images)[0]
    bad = Observation(images={first_camera: good.images[first_camera]},
                      joint_names=good.joint_names,
                      joint_positions=good.joint_positions, instruction='reach')
    replies: list[object] = [None] * 3

    def robot(client: int) -> None:
        obs = bad if client == 2 else requests[client][0]
        connections[client].send(pack({
            'images': dict(obs.images), 'joint_names': list(obs.joint_names),
            'joint_positions': obs.joint_positions, 'prompt': obs.instruction}))
        replies[client] = connections[client].recv(timeout=60)

    threads = [threading.Thread(target=robot, args=(client,)) for client in range(3)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=120)
    for connection in connections:
        connection.close()

    assert isinstance(replies[2], str) and replies[2].startswith('InputError: camera'), replies[2]
    for client in range(2):
        reply = replies[client]
        assert isinstance(reply, bytes)
        np.testing.assert_allclose(np.asarray(unpack(reply)['actions']), reference[client][0],
                                   rtol=0, atol=1e-6)


@pytest.mark.parametrize(('window_ms', 'max_batch', 'match'), [
    (-1.0, 4, 'batch window -1.0 ms'), (5000.0, 4, 'batch window 5000.0 ms'),
    (5.0, 0, 'max batch 0'), (5.0, True, 'max batch True')],
    ids=['negative-window', 'long-window', 'zero-batch', 'bool-batch'])
def test_batch_options_out_of_range_are_config_errors(window_ms: float, max_batch: int,
                                                      match: str) -> None:
    with pytest.raises(ConfigError, match=match):
        BatchOptions(window_ms=window_ms, max_batch=max_batch)
