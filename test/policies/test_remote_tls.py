# SPDX-License-Identifier: Apache-2.0
# Copyright 2026 The vla_ros authors
"""``wss://``: ``vla-ros serve --certfile/--keyfile`` and the ``openpi`` family's ``ca_file``.

The certificates are made in the run with the ``openssl`` command: a throwaway CA signs the
server's certificate (for IP 127.0.0.1); a second CA, which signed nothing, is the wrong one.
The server is a real ``vla-ros serve`` process serving ``checkpoints/flow/reach``; it records
what it served, and the chunk our client received over TLS must equal both the record and
what the same checkpoint computes here for the recorded observation.
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
import subprocess

import numpy as np
import pytest

from vla_ros.core.errors import ConfigError
from vla_ros.core.remote_config import RemoteServerConfig
from vla_ros.core.types import Observation
from vla_ros.policies.registry import load_policy
from vla_ros.policies.remote.openpi import OpenpiPolicy

REACH = Path('checkpoints') / 'flow' / 'reach'


def openssl(*args: str, cwd: Path) -> None:
    subprocess.run(['openssl', *args], cwd=cwd, check=True, capture_output=True, timeout=60)


def make_ca(directory: Path, name: str) -> None:
    """``name``.pem and ``name``.key: a self-signed CA certificate (P-256, one day)."""
    openssl('req', '-x509', '-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:prime256v1',
            '-nodes', '-keyout', f'{name}.key', '-out', f'{name}.pem', '-days', '1',
            '-subj', f'/CN={name}', cwd=directory)


@pytest.fixture(scope='module')
def certificates(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """ca.pem signed server.pem (key server.key, for 127.0.0.1); wrong_ca.pem signed nothing."""
    directory = tmp_path_factory.mktemp('tls')
    make_ca(directory, 'ca')
    make_ca(directory, 'wrong_ca')
    openssl('req', '-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:prime256v1', '-nodes',
            '-keyout', 'server.key', '-out', 'server.csr', '-subj', '/CN=127.0.0.1',
            cwd=directory)
    (directory / 'san.cnf').write_text('subjectAltName=IP:127.0.0.1,DNS:localhost\n')
    openssl('x509', '-req', '-in', 'server.csr', '-CA', 'ca.pem', '-CAkey', 'ca.key',
            '-CAcreateserial', '-out', 'server.pem', '-days', '1', '-extfile', 'san.cnf',
            cwd=directory)
    return directory


@pytest.fixture(scope='module')
def tls_server(repo_root: Path, certificates: Path,
               tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[str, Path]]:
    """``vla-ros serve`` over TLS: its wss:// URL and the folder it records to."""
    record = tmp_path_factory.mktemp('served')
    process = subprocess.Popen(
        ['vla-ros', 'serve', '--family', 'flow', '--checkpoint', str(REACH), '--threads', '1',
         '--port', '0', '--record', str(record), '--certfile', str(certificates / 'server.pem'),
         '--keyfile', str(certificates / 'server.key')],
        cwd=repo_root, text=True, stdout=subprocess.PIPE, stderr=subprocess.DEVNULL)
    assert process.stdout is not None
    line = process.stdout.readline()
    assert ' on wss://127.0.0.1:' in line, f'vla-ros serve printed {line!r}'
    port = int(line.split(' on wss://127.0.0.1:')[1].split()[0])
    yield f'wss://127.0.0.1:{port}', record
    process.terminate()
    process.wait(timeout=30)


def test_our_client_gets_the_served_chunk_over_wss_with_the_servers_ca(
        repo_root: Path, certificates: Path, tls_server: tuple[str, Path]) -> None:
    url, record = tls_server
    client = OpenpiPolicy(RemoteServerConfig(url=url, ca_file=str(certificates / 'ca.pem')))
    spec = client.spec
    rng = np.random.default_rng(7)
    observation = Observation(
        images={camera: rng.integers(0, 256, (spec.image_height, spec.image_width, 3),
                                     dtype=np.uint8) for camera in spec.camera_names},
        joint_names=spec.joint_names, joint_positions=rng.normal(0.0, 0.3, 7),
        instruction='touch the red cube')
    served = client.infer(observation).positions
    client.close()

    [path] = sorted(record.glob('*.npz'))
    with np.load(path) as saved:
        np.testing.assert_array_equal(saved['actions'], served)
        np.testing.assert_array_equal(saved['joint_positions'], observation.joint_positions)
        recorded = Observation(
            images={camera: saved[f'image_{camera}'] for camera in spec.camera_names},
            joint_names=spec.joint_names, joint_positions=saved['joint_positions'],
            instruction=str(saved['instruction']))
    local = load_policy('flow', repo_root / REACH, threads=1)
    np.testing.assert_allclose(local.infer(recorded).positions, served, atol=1e-5)


@pytest.mark.parametrize(('ca_file', 'match'), [
    ('wrong_ca.pem', r'refused: its TLS certificate does not chain to .*wrong_ca\.pem '
                     r'\(policy\.server\.ca_file\): unable to get local issuer certificate'),
    (None, r"does not chain to the system's CAs"),
    ('server.key', r"policy\.server\.ca_file: cannot load .*server\.key' as PEM"),
], ids=['wrong-ca', 'system-cas', 'not-a-certificate'])
def test_a_server_whose_certificate_the_client_does_not_trust_is_refused_clearly(
        certificates: Path, tls_server: tuple[str, Path], ca_file: str | None,
        match: str) -> None:
    url, _ = tls_server
    server = RemoteServerConfig(url=url, connect_timeout_s=10.0,
                                ca_file=None if ca_file is None else str(certificates / ca_file))
    with pytest.raises(ConfigError, match=match):
        OpenpiPolicy(server)
