# SPDX-License-Identifier: Apache-2.0
# Copyright 2026 The vla_ros authors
"""The ``groot`` and ``openvla`` families against small servers written from the protocol facts.

The servers (``remote_servers.py``) decode with their own code, so what is asserted here is
what went over the socket: GR00T's nested, batched observation with ``.npy`` arrays and its
``[action map, info]`` reply; OpenVLA's json-numpy body and its one 7-D action, plain or
double-encoded. Faults (timeouts, error replies, wrong shapes, a refused token) are
``PolicyOutputError``s or, at start, ``ConfigError``s naming the URL.
"""

from __future__ import annotations

import time

import numpy as np
import pytest
from remote_servers import ScriptedGrootServer, ScriptedOpenvlaServer

from vla_ros.core.errors import ConfigError, PolicyOutputError
from vla_ros.core.remote_config import parse_server
from vla_ros.core.types import Observation
from vla_ros.policies.remote.groot import GrootPolicy
from vla_ros.policies.remote.openvla import OpenvlaPolicy

ARM = ('joint1', 'joint2', 'joint3', 'joint4', 'joint5', 'joint6')
JOINTS = ARM + ('gripper_joint',)
EE = ('dx', 'dy', 'dz', 'droll', 'dpitch', 'dyaw', 'gripper')


def observation(seed: int = 0) -> Observation:
    rng = np.random.default_rng(seed)
    return Observation(images={'front': rng.integers(0, 256, (48, 64, 3), dtype=np.uint8)},
                       joint_names=JOINTS, joint_positions=rng.normal(size=7),
                       instruction='touch the red cube')


def groot_server_section(url: str, **extra: object) -> dict[str, object]:
    return {'url': url, 'schema': 'custom', 'chunk_length': 4, 'dt_s': 0.05,
            'timeout_s': 2.0, 'connect_timeout_s': 2.0, **extra, 'mapping': {
                'image_size': [32, 32], 'cameras': {'ego_view': 'front'},
                'state': {'single_arm': list(ARM), 'gripper': ['gripper_joint']},
                'prompt': 'annotation.human.action.task_description',
                'actions': {'single_arm': list(ARM), 'gripper': ['gripper_joint']}}}


def groot_reply(observation: dict) -> list:
    return [{'single_arm': np.tile(np.arange(6, dtype=np.float32), (1, 16, 1)),
             'gripper': np.full((1, 16, 1), 0.5, dtype=np.float32)}, {}]


def test_groot_sends_the_nested_batched_observation_and_reads_the_action_map() -> None:
    with ScriptedGrootServer(groot_reply) as server:
        client = GrootPolicy(parse_server(groot_server_section(server.url)))
        obs = observation()
        chunk = client.infer(obs)
        client.close()
    sent = server.observations[0]
    assert sent['video']['ego_view'].shape == (1, 1, 32, 32, 3)
    assert sent['video']['ego_view'].dtype == np.uint8
    np.testing.assert_array_equal(sent['state']['single_arm'],
                                  obs.joint_positions[None, None, :6].astype(np.float32))
    assert sent['state']['gripper'].shape == (1, 1, 1)
    assert sent['language'] == {
        'annotation.human.action.task_description': [['touch the red cube']]}
    assert chunk.joint_names == JOINTS and chunk.dt_s == 0.05
    np.testing.assert_array_equal(chunk.positions,
                                  np.tile([0, 1, 2, 3, 4, 5, 0.5], (4, 1)))


@pytest.mark.parametrize(('reply', 'match'), [
    ({'error': 'CUDA out of memory'}, 'answered with an error: CUDA out of memory'),
    ([{'single_arm': np.zeros((1, 16, 5), dtype=np.float32),
       'gripper': np.zeros((1, 16, 1), dtype=np.float32)}, {}], r'shape \(16, 5\)'),
    ([{'single_arm': np.zeros((1, 16, 6), dtype=np.float32)}, {}], "reply lacks 'gripper'"),
    ([{'single_arm': np.full((1, 16, 6), np.inf, dtype=np.float32),
       'gripper': np.zeros((1, 16, 1), dtype=np.float32)}, {}], 'NaN or Inf'),
    ({'actions': 1}, r'expected \[action map, info\]'),
], ids=['error', 'narrow', 'missing', 'inf', 'not_a_list'])
def test_a_groot_reply_that_does_not_fit_is_an_output_error(reply: object, match: str) -> None:
    with ScriptedGrootServer(lambda obs: reply) as server:
        client = GrootPolicy(parse_server(groot_server_section(server.url)))
        with pytest.raises(PolicyOutputError, match=match):
            client.infer(observation())
        client.close()


def test_a_groot_timeout_remakes_the_socket_and_the_next_call_is_answered() -> None:
    with ScriptedGrootServer(groot_reply, delay_s=1.0) as server:
        client = GrootPolicy(parse_server(groot_server_section(server.url, timeout_s=0.3)))
        with pytest.raises(PolicyOutputError, match=r'no reply within 0\.3 s'):
            client.infer(observation())
        server.delay_s = 0.0
        time.sleep(1.2)  # the server answers the stale request into the void, back-off ends
        chunk = client.infer(observation())  # a fresh REQ socket: not stuck
        client.close()
    assert chunk.positions.shape == (4, 7)


def test_groot_token_is_sent_and_a_wrong_one_refused_at_start() -> None:
    with ScriptedGrootServer(groot_reply, api_token='t0ken') as server:
        with pytest.raises(ConfigError, match=f'no answer from {server.url}.*Unauthorized'):
            GrootPolicy(parse_server(groot_server_section(server.url)), api_token='wrong')
        client = GrootPolicy(parse_server(groot_server_section(server.url)), api_token='t0ken')
        assert client.infer(observation()).positions.shape == (4, 7)
        client.close()


def test_no_groot_server_at_start_is_a_config_error_naming_the_url() -> None:
    with pytest.raises(ConfigError, match=r'no answer from tcp://127\.0\.0\.1:9 within'):
        GrootPolicy(parse_server(groot_server_section('tcp://127.0.0.1:9',
                                                      connect_timeout_s=0.3)))


def openvla_section(url: str, **extra: object) -> dict[str, object]:
    return {'url': url, 'schema': 'openvla', 'cameras': ['front'], 'actions': list(EE),
            'unnorm_key': 'bridge_orig', 'timeout_s': 2.0, **extra}


@pytest.mark.parametrize('encoded', [False, True], ids=['plain', 'double_encoded'])
def test_openvla_posts_image_instruction_and_key_and_reads_one_action(encoded: bool) -> None:
    action = np.array([0.01, -0.02, 0.03, 0.0, 0.1, -0.1, 1.0], dtype=np.float32)
    with ScriptedOpenvlaServer(lambda payload: action, encoded=encoded) as server:
        client = OpenvlaPolicy(parse_server(openvla_section(server.url)))
        obs = observation(1)
        chunk = client.infer(obs)
    payload = server.payloads[0]
    assert set(payload) == {'image', 'instruction', 'unnorm_key'}
    assert payload['image'].shape == (224, 224, 3) and payload['image'].dtype == np.uint8
    assert payload['instruction'] == 'touch the red cube'
    assert payload['unnorm_key'] == 'bridge_orig'
    assert chunk.joint_names == EE and chunk.positions.shape == (1, 7)
    np.testing.assert_allclose(chunk.positions[0], action, rtol=0, atol=1e-7)


@pytest.mark.parametrize(('reply', 'match'), [
    ('error', 'answered "error"'),
    (np.zeros(6, dtype=np.float32), r'shape \(1, 6\), expected \(>= 1, 7\)'),
    (np.full(7, np.nan, dtype=np.float32), 'NaN or Inf'),
], ids=['error', 'six_values', 'nan'])
def test_an_openvla_reply_that_does_not_fit_is_an_output_error(reply: object,
                                                               match: str) -> None:
    with ScriptedOpenvlaServer(lambda payload: reply) as server:
        client = OpenvlaPolicy(parse_server(openvla_section(server.url)))
        with pytest.raises(PolicyOutputError, match=match):
            client.infer(observation())


def test_an_openvla_server_sleeping_past_the_timeout_is_an_output_error() -> None:
    action = np.zeros(7, dtype=np.float32)
    with ScriptedOpenvlaServer(lambda payload: action, delay_s=1.0) as server:
        client = OpenvlaPolicy(parse_server(openvla_section(server.url, timeout_s=0.3)))
        with pytest.raises(PolicyOutputError, match=r'no reply within 0\.3 s'):
            client.infer(observation())


def test_no_openvla_server_at_start_is_a_config_error_naming_the_url() -> None:
    with pytest.raises(ConfigError, match=r'cannot connect to http://127\.0\.0\.1:9 within'):
        OpenvlaPolicy(parse_server(openvla_section('http://127.0.0.1:9')))
