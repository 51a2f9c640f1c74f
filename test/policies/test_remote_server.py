# SPDX-License-Identifier: Apache-2.0
# Copyright 2026 The vla_ros authors
"""``PolicyServer`` (the core of ``vla-ros serve``) where openpi's reference server falls short.

Each test talks to a real server on 127.0.0.1 through a real socket: with our ``openpi`` client,
or, to see exactly what goes over the wire, with a bare websockets client that frames
messages as openpi-client does (msgpack-numpy binary frames; text frames are errors).
"""

from __future__ import annotations

from collections.abc import Iterator
import http.client
import threading

import numpy as np
import pytest
from remote_servers import expected_ramp, RampPolicy
from websockets.exceptions import ConnectionClosed, InvalidStatus
from websockets.sync.client import ClientConnection, connect

from vla_ros.core.errors import ConfigError
from vla_ros.core.remote_config import RemoteServerConfig
from vla_ros.core.types import ActionChunk, Observation
from vla_ros.policies.remote.openpi import OpenpiPolicy
from vla_ros.policies.remote.server import PolicyServer, ServeOptions
from vla_ros.policies.remote.wire_codec import pack, unpack

KEY = 'k3y-for-tests'


def ramp_observation(seed: int) -> Observation:
    rng = np.random.default_rng(seed)
    return Observation(images={'front': rng.integers(0, 256, (8, 8, 3), dtype=np.uint8)},
                       joint_names=RampPolicy.spec.joint_names,
                       joint_positions=rng.normal(size=7), instruction='reach')


@pytest.fixture
def server(request: pytest.FixtureRequest) -> Iterator[PolicyServer]:
    options = getattr(request, 'param', ServeOptions(port=0))
    running = PolicyServer(RampPolicy(), options)
    running.start()
    yield running
    running.close()


def raw_client(server: PolicyServer, **kwargs: object) -> ClientConnection:
    """A bare client; the metadata frame is read and checked."""
    connection = connect(f'ws://127.0.0.1:{server.port}', compression=None, proxy=None,
                         legacy=True, max_size=None, **kwargs)  # type: ignore[arg-type]
    metadata = unpack(connection.recv(timeout=10))
    assert metadata['vla_ros']['spec']['joint_names'] == list(RampPolicy.spec.joint_names)
    return connection


def test_healthz_answers_ok(server: PolicyServer) -> None:
    connection = http.client.HTTPConnection('127.0.0.1', server.port, timeout=10)
    connection.request('GET', '/healthz')
    response = connection.getresponse()
    assert (response.status, response.read()) == (200, b'OK\n')


@pytest.mark.parametrize('server', [ServeOptions(port=0, api_key=KEY)], indirect=True)
@pytest.mark.parametrize('sent', [None, 'wrong', KEY + 'x'], ids=['missing', 'wrong', 'longer'])
def test_a_missing_or_wrong_api_key_is_refused(server: PolicyServer, sent: str | None) -> None:
    headers = None if sent is None else {'Authorization': f'Api-Key {sent}'}
    with pytest.raises(InvalidStatus, match='401'):
        raw_client(server, additional_headers=headers)
    with pytest.raises(ConfigError, match=rf'cannot connect to ws://127.0.0.1:{server.port}'):
        OpenpiPolicy(RemoteServerConfig(url=f'ws://127.0.0.1:{server.port}'), api_key=sent)


@pytest.mark.parametrize('server', [ServeOptions(port=0, api_key=KEY)], indirect=True)
def test_the_right_api_key_is_served(server: PolicyServer) -> None:
    client = OpenpiPolicy(RemoteServerConfig(url=f'ws://127.0.0.1:{server.port}'), api_key=KEY)
    obs = ramp_observation(0)
    np.testing.assert_allclose(client.infer(obs).positions, expected_ramp(obs), atol=1e-12)
    client.close()


@pytest.mark.parametrize('host', ['0.0.0.0', '192.168.1.20', '::'])
def test_binding_beyond_loopback_without_a_key_is_refused(host: str) -> None:
    with pytest.raises(ConfigError, match='set an API key'):
        PolicyServer(RampPolicy(), ServeOptions(host=host, port=0))


def test_a_100_mb_message_is_refused_and_the_server_goes_on(server: PolicyServer) -> None:
    connection = raw_client(server)
    huge = {'images': {'front': np.zeros((100 * 1024 * 1024,), dtype=np.uint8)}}
    with pytest.raises(ConnectionClosed) as closed:
        connection.send(pack(huge))
        connection.recv(timeout=30)
    assert closed.value.rcvd is not None and closed.value.rcvd.code == 1009  # message too big

    client = OpenpiPolicy(RemoteServerConfig(url=f'ws://127.0.0.1:{server.port}'))
    obs = ramp_observation(1)
    np.testing.assert_allclose(client.infer(obs).positions, expected_ramp(obs), atol=1e-12)
    client.close()


@pytest.mark.parametrize(('request_body', 'reply'), [
    ({'prompt': 'reach'}, 'InputError: request: missing keys'),
    ({'images': {'front': np.zeros((8, 8), dtype=np.uint8)}, 'joint_names': ['joint1'],
      'joint_positions': np.zeros(1), 'prompt': 'reach'},
     "InputError: Observation.images['front']: dtype uint8 shape (8, 8)"),
], ids=['missing_keys', 'grey_image'])
def test_a_bad_request_gets_one_line_of_error_text(server: PolicyServer, request_body: dict,
                                                   reply: str) -> None:
    connection = raw_client(server)
    connection.send(pack(request_body))
    text = connection.recv(timeout=10)
    assert isinstance(text, str) and text.startswith(reply), text
    assert 'Traceback' not in text and '\n' not in text
    with pytest.raises(ConnectionClosed):
        connection.recv(timeout=10)


class BrokenPolicy(RampPolicy):
    """A real policy with a bug: its inference raises a plain exception."""

    def infer(self, observation: Observation) -> ActionChunk:
        """Fail as a bug would."""
        raise ZeroDivisionError('secret path /home/user/model.py line 3')


def test_an_internal_error_tells_the_client_no_traceback_or_path() -> None:
    server = PolicyServer(BrokenPolicy(), ServeOptions(port=0))
    server.start()
    try:
        connection = raw_client(server)
        obs = ramp_observation(2)
        connection.send(pack({'images': dict(obs.images), 'joint_names': list(obs.joint_names),
                              'joint_positions': obs.joint_positions, 'prompt': 'reach'}))
        text = connection.recv(timeout=10)
    finally:
        server.close()
    assert text == 'internal error in the policy server (see its log)'


def test_several_robots_are_served_at_once(server: PolicyServer) -> None:
    url = f'ws://127.0.0.1:{server.port}'
    errors: list[str] = []

    def robot(seed: int) -> None:
        client = OpenpiPolicy(RemoteServerConfig(url=url))
        for step in range(5):
            obs = ramp_observation(100 * seed + step)
            if not np.allclose(client.infer(obs).positions, expected_ramp(obs), atol=1e-12):
                errors.append(f"robot {seed} step {step}: another robot's chunk")
        client.close()

    robots = [threading.Thread(target=robot, args=(seed,)) for seed in range(3)]
    for thread in robots:
        thread.start()
    for thread in robots:
        thread.join(timeout=60)
    assert not any(thread.is_alive() for thread in robots)
    assert not errors, errors
