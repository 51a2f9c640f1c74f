# SPDX-License-Identifier: Apache-2.0
# Copyright 2026 The vla_ros authors
"""The ``openpi`` family against real servers on loopback: ours, and scripted openpi ones.

- Parity: ``vla-ros serve`` in a subprocess serves ``checkpoints/flow/reach``; our client's
  chunks equal those of the same checkpoint loaded here (same noise seed, same calls) to 1e-5.
- Faults: a server that dies and comes back, one that sleeps past ``timeout_s``, replies of
  the wrong shape, with NaN or as a text error frame: each is a ``PolicyOutputError`` (the node
  holds), and the client reconnects. A refused connection at start is a ``ConfigError``
  naming the URL.
- The reference schemas put the right keys, layouts and values on the wire.
"""

from __future__ import annotations

from collections.abc import Iterator
import json
import os
from pathlib import Path
import shutil
import subprocess
import time

import numpy as np
import pytest
from remote_servers import expected_ramp, JOINTS, RampPolicy, ScriptedOpenpiServer

from vla_ros.core.errors import ConfigError, PolicyOutputError
from vla_ros.core.policy import outputs_offsets
from vla_ros.core.remote_config import reference_mapping, RemoteServerConfig, WireSchema
from vla_ros.core.types import Observation
from vla_ros.policies.registry import load_policy
from vla_ros.policies.remote.link import api_key_from_env
from vla_ros.policies.remote.openpi import OpenpiPolicy
from vla_ros.policies.remote.server import PolicyServer, ServeOptions

DEADLINE_S = 120.0  # longest wait for the served model to load (a deadline, not a timing claim)


def observation(seed: int, *, size: int = 64, cameras: tuple[str, ...] = ('front', 'wrist'),
                joints: tuple[str, ...] = JOINTS) -> Observation:
    rng = np.random.default_rng(seed)
    return Observation(
        images={name: rng.integers(0, 256, (size, size, 3), dtype=np.uint8)
                for name in cameras},
        joint_names=joints, joint_positions=rng.normal(0.0, 0.2, len(joints)),
        instruction='touch the red cube')


def start_serve(repo_root: Path, *extra: str,
                checkpoint: Path | None = None) -> tuple[subprocess.Popen[str], str]:
    """``vla-ros serve`` in a subprocess; returns it and its URL once it listens."""
    checkpoint = checkpoint or repo_root / 'checkpoints' / 'flow' / 'reach'
    process = subprocess.Popen(
        ['vla-ros', 'serve', '--family', 'flow', '--checkpoint', str(checkpoint),
         '--threads', '1', '--port', '0', *extra],
        cwd=repo_root, stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, text=True)
    assert process.stdout is not None
    line = process.stdout.readline()  # the first line names the URL; EOF if it died
    assert ' on ws://' in line, f'vla-ros serve printed {line!r}, exit code {process.poll()}'
    return process, line.split(' on ')[1].split()[0]


@pytest.fixture
def served_reach(repo_root: Path) -> Iterator[str]:
    process, url = start_serve(repo_root)
    yield url
    process.terminate()
    assert process.wait(timeout=30) == 0


def test_served_flow_chunks_equal_local_ones(served_reach: str, repo_root: Path) -> None:
    remote = OpenpiPolicy(RemoteServerConfig(url=served_reach, timeout_s=60.0))
    local = load_policy('flow', repo_root / 'checkpoints' / 'flow' / 'reach', threads=1)
    assert remote.spec == local.spec

    differences = []
    for seed in range(4):
        obs = observation(seed, size=48 + 8 * seed)  # letterboxed on both sides
        remote_chunk, local_chunk = remote.infer(obs), local.infer(obs)
        differences.append(float(np.abs(remote_chunk.positions - local_chunk.positions).max()))
        assert remote_chunk.joint_names == local_chunk.joint_names
    remote.close()

    print(f'largest |remote - local| per chunk: {differences}')
    assert max(differences) <= 1e-5
    assert remote.last_timing is not None and remote.last_timing.server_ms is not None


def test_a_joint_delta_checkpoint_is_served_as_absolute_targets(repo_root: Path,
                                                                 tmp_path: Path) -> None:
    # The shipped reach checkpoint, marked as trained with --joint-deltas: the same weights,
    # whose rows the server must now add to the joints that came with each request.
    checkpoint = tmp_path / 'reach_delta'
    shutil.copytree(repo_root / 'checkpoints' / 'flow' / 'reach', checkpoint)
    settings_file = checkpoint / 'vla_ros_policy.json'
    settings = json.loads(settings_file.read_text())
    settings['action_rows'] = 'joint_delta'
    settings_file.write_text(json.dumps(settings))
    offsets = load_policy('flow', checkpoint, threads=1)
    assert outputs_offsets(offsets)

    process, url = start_serve(repo_root, checkpoint=checkpoint)
    try:
        remote = OpenpiPolicy(RemoteServerConfig(url=url, timeout_s=60.0))
        # The joint state arrives in another order than the policy's columns.
        observations = [observation(0), observation(1, joints=tuple(reversed(JOINTS)))]
        chunks = [remote.infer(obs) for obs in observations]
        remote.close()
    finally:
        process.terminate()
        assert process.wait(timeout=30) == 0

    for obs, chunk in zip(observations, chunks, strict=True):
        observed = obs.positions_for(JOINTS)
        assert chunk.joint_names == JOINTS
        expected = offsets.infer(obs).positions + observed
        np.testing.assert_allclose(chunk.positions, expected, atol=1e-5)
        # Not the offsets themselves: the state (about 0.2 rad a joint) moved every row.
        assert np.abs(chunk.positions - (expected - observed)).min() > 1e-4


@pytest.fixture
def ramp_server() -> Iterator[PolicyServer]:
    server = PolicyServer(RampPolicy(), ServeOptions(port=0))
    server.start()
    yield server
    server.close()


def test_a_lost_server_holds_then_the_client_reconnects(ramp_server: PolicyServer) -> None:
    port = ramp_server.port
    client = OpenpiPolicy(RemoteServerConfig(url=f'ws://127.0.0.1:{port}', timeout_s=2.0))
    obs = observation(1, size=8, cameras=('front',))  # the policy's size: no letterbox
    np.testing.assert_allclose(client.infer(obs).positions, expected_ramp(obs), atol=1e-12)

    ramp_server.close()
    with pytest.raises(PolicyOutputError, match='connection lost'):
        client.infer(obs)
    with pytest.raises(PolicyOutputError, match='unreachable|cannot connect'):
        client.infer(obs)  # within the back-off, or the server is still away

    restarted = PolicyServer(RampPolicy(), ServeOptions(port=port))
    restarted.start()
    try:
        deadline = time.monotonic() + 30.0
        while True:  # the back-off decides when the next attempt is made
            try:
                chunk = client.infer(obs)
                break
            except PolicyOutputError as err:
                assert time.monotonic() < deadline, f'never reconnected: {err}'
                time.sleep(0.1)
        np.testing.assert_allclose(chunk.positions, expected_ramp(obs), atol=1e-12)
    finally:
        client.close()
        restarted.close()


def test_no_server_at_start_is_a_config_error_naming_the_url() -> None:
    with pytest.raises(ConfigError, match=r'cannot connect to ws://127\.0\.0\.1:9 within'):
        OpenpiPolicy(RemoteServerConfig(url='ws://127.0.0.1:9', connect_timeout_s=2.0))


DROID = reference_mapping(WireSchema.DROID, cameras=('front', 'wrist'), state=JOINTS + ('g',),
                          actions=JOINTS + ('g',), chunk_length=3, dt_s=0.1)
DROID_JOINTS = JOINTS + ('g',)


def droid_client(url: str, **server: float) -> OpenpiPolicy:
    return OpenpiPolicy(RemoteServerConfig(url=url, schema=WireSchema.DROID, mapping=DROID,
                                           **server))


@pytest.mark.parametrize(('reply', 'match'), [
    ({'actions': np.zeros((3, 7))}, r'shape \(3, 7\), expected \(>= 3, 8\)'),
    ({'actions': np.zeros((2, 8))}, r'shape \(2, 8\), expected \(>= 3, 8\)'),
    ({'actions': np.full((3, 8), np.nan)}, 'NaN or Inf'),
    ({'actions': 'zeros'}, 'actions of type str'),
    ({'action': np.zeros((3, 8))}, "reply lacks 'actions'"),
    ('Traceback (most recent call last): boom', 'answered with an error: Traceback'),
], ids=['narrow', 'short', 'nan', 'string', 'missing_key', 'text_frame'])
def test_a_reply_that_does_not_fit_the_mapping_is_an_output_error(reply: object,
                                                                  match: str) -> None:
    with ScriptedOpenpiServer(lambda request: reply) as server:
        client = droid_client(server.url)
        with pytest.raises(PolicyOutputError, match=match):
            client.infer(observation(0, joints=DROID_JOINTS))
        client.close()


def test_a_server_sleeping_past_the_timeout_is_an_output_error() -> None:
    reply = {'actions': np.zeros((3, 8))}
    with ScriptedOpenpiServer(lambda request: reply, delay_s=1.5) as server:
        client = droid_client(server.url, timeout_s=0.3)
        with pytest.raises(PolicyOutputError, match=r'no reply within 0\.3 s'):
            client.infer(observation(0, joints=DROID_JOINTS))
        server.delay_s = 0.0
        time.sleep(1.6)  # past the sleeping handler and the first back-off
        chunk = client.infer(observation(0, joints=DROID_JOINTS))  # a fresh connection
        client.close()
    np.testing.assert_array_equal(chunk.positions, np.zeros((3, 8)))


def test_droid_schema_sends_openpis_keys_and_reads_its_columns() -> None:
    actions = np.arange(30 * 8, dtype=np.float32).reshape(30, 8)  # longer than used
    with ScriptedOpenpiServer(lambda request: {'actions': actions}) as server:
        client = droid_client(server.url)
        obs = observation(3, joints=DROID_JOINTS)
        chunk = client.infer(obs)
        client.close()
    request = server.requests[0]
    assert set(request) == {'observation/exterior_image_1_left', 'observation/wrist_image_left',
                            'observation/joint_position', 'observation/gripper_position',
                            'prompt'}
    assert request['observation/exterior_image_1_left'].shape == (224, 224, 3)
    np.testing.assert_array_equal(request['observation/joint_position'],
                                  obs.joint_positions[:7].astype(np.float32))
    np.testing.assert_array_equal(request['observation/gripper_position'],
                                  obs.joint_positions[7:].astype(np.float32))
    assert request['prompt'] == 'touch the red cube'
    assert chunk.joint_names == DROID_JOINTS and chunk.dt_s == 0.1
    np.testing.assert_array_equal(chunk.positions, actions[:3])


def test_aloha_images_travel_channels_first_and_libero_rotated() -> None:
    aloha = reference_mapping(WireSchema.ALOHA, cameras=('front', None, 'wrist', None),
                              state=tuple(f'j{i}' for i in range(14)),
                              actions=tuple(f'j{i}' for i in range(14)))
    libero = reference_mapping(WireSchema.LIBERO, cameras=('front', 'wrist'),
                               state=tuple(f'j{i}' for i in range(8)),
                               actions=tuple(f'a{i}' for i in range(7)))
    for mapping, width in ((aloha, 14), (libero, 7)):
        reply = {'actions': np.zeros((mapping.chunk_length, width))}
        with ScriptedOpenpiServer(lambda request, reply=reply: reply) as server:
            client = OpenpiPolicy(RemoteServerConfig(url=server.url, schema=WireSchema.CUSTOM,
                                                     mapping=mapping))
            obs = observation(5, size=224, joints=tuple(f'j{i}' for i in range(14)))
            client.infer(obs)
            client.close()
        request = server.requests[0]
        if mapping is aloha:
            assert set(request['images']) == {'cam_high', 'cam_left_wrist'}
            np.testing.assert_array_equal(request['images']['cam_high'],
                                          obs.images['front'].transpose(2, 0, 1))
            assert request['state'].shape == (14,)
        else:
            np.testing.assert_array_equal(request['observation/image'],
                                          obs.images['front'][::-1, ::-1])
            assert request['observation/state'].shape == (8,)


def test_an_unset_api_key_variable_is_a_config_error() -> None:
    assert 'VLA_ROS_TEST_KEY_UNSET' not in os.environ
    with pytest.raises(ConfigError, match='VLA_ROS_TEST_KEY_UNSET'):
        api_key_from_env('VLA_ROS_TEST_KEY_UNSET')
