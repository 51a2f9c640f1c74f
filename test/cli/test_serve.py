# SPDX-License-Identifier: Apache-2.0
# Copyright 2026 The vla_ros authors
"""`vla-ros serve` as a user runs it: a subprocess on loopback, stopped by SIGTERM."""

from __future__ import annotations

import os
from pathlib import Path
import re
import signal
import subprocess

import numpy as np

from vla_ros.core.remote_config import RemoteServerConfig
from vla_ros.core.types import Observation
from vla_ros.policies.remote.openpi import OpenpiPolicy

REACH = ('--family', 'flow', '--checkpoint', 'checkpoints/flow/reach', '--threads', '1')


def test_binding_beyond_loopback_without_a_key_fails_at_start(repo_root: Path) -> None:
    done = subprocess.run(['vla-ros', 'serve', *REACH, '--host', '0.0.0.0', '--port', '0'],
                          cwd=repo_root, capture_output=True, text=True, timeout=120)

    assert done.returncode == 1
    assert done.stderr.strip().splitlines() == [
        "vla-ros serve: serve: binding '0.0.0.0' exposes the policy to the network; set an "
        'API key (--api-key-env) or bind 127.0.0.1']


def test_a_batch_size_below_one_fails_at_start(repo_root: Path) -> None:
    done = subprocess.run(['vla-ros', 'serve', *REACH, '--port', '0', '--max-batch', '0'],
                          cwd=repo_root, capture_output=True, text=True, timeout=120)

    assert done.returncode == 1
    assert done.stderr.strip().splitlines() == [
        'vla-ros serve: serve: max batch 0, expected 1 to 256']


def test_the_first_line_names_the_inference_path_and_the_warm_up_time(repo_root: Path) -> None:
    process = subprocess.Popen(['vla-ros', 'serve', *REACH, '--port', '0'], cwd=repo_root,
                               text=True, stdout=subprocess.PIPE, stderr=subprocess.DEVNULL)
    try:
        assert process.stdout is not None
        line = process.stdout.readline()
    finally:
        process.send_signal(signal.SIGTERM)
        assert process.wait(timeout=60) == 0
    # The flow family on the CPU samples with our sampler, eagerly, in float32 (the node's
    # configure log says the same); the warm-up ran before the socket opened.
    found = re.search(r'inference: (.+); warm-up inference (\d+) ms\)$', line.strip())
    assert found is not None, line
    assert found.group(1) == 'our sampler (eager) on cpu, float32'


def test_serves_with_a_key_records_requests_and_stops_on_sigterm(repo_root: Path,
                                                                  tmp_path: Path) -> None:
    env = dict(os.environ, VLA_ROS_SERVE_TEST_KEY='s3cret')
    process = subprocess.Popen(
        ['vla-ros', 'serve', *REACH, '--port', '0', '--api-key-env', 'VLA_ROS_SERVE_TEST_KEY',
         '--record', str(tmp_path / 'served')], cwd=repo_root, env=env, text=True,
        stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    try:
        assert process.stdout is not None
        line = process.stdout.readline()
        assert 'key required' in line, line
        url = line.split(' on ')[1].split()[0]
        client = OpenpiPolicy(RemoteServerConfig(url=url, timeout_s=60.0), api_key='s3cret')
        observation = Observation(
            images={name: np.full((64, 64, 3), 90, dtype=np.uint8) for name in ('front', 'wrist')},
            joint_names=client.spec.joint_names, joint_positions=np.zeros(7),
            instruction='touch the red cube')
        chunks = [client.infer(observation) for _ in range(2)]
        client.close()
    finally:
        process.send_signal(signal.SIGTERM)
        _, stderr = process.communicate(timeout=30)
    assert process.returncode == 0, stderr
    recorded = sorted((tmp_path / 'served').glob('*.npz'))
    assert [path.name for path in recorded] == ['000000.npz', '000001.npz']
    for path, chunk in zip(recorded, chunks, strict=True):
        with np.load(path) as saved:
            np.testing.assert_array_equal(saved['actions'], chunk.positions)
            np.testing.assert_array_equal(saved['image_front'], observation.images['front'])
            assert str(saved['instruction']) == 'touch the red cube'
    assert 'Traceback' not in stderr
