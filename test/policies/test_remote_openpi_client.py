# SPDX-License-Identifier: Apache-2.0
# Copyright 2026 The vla_ros authors
"""Wire compatibility: the stock ``openpi-client`` (PyPI) against ``vla-ros serve``.

openpi-client pins numpy < 2, so it gets a throwaway virtual environment of its own, made on
first use (``python -m venv`` + ``pip install openpi-client``) and cached in
``~/.cache/vla_ros/openpi_client_venv``; the test skips, saying so, only when it cannot be
installed (no package index reachable). A small script there connects openpi's
``WebsocketClientPolicy`` to a ``vla-ros serve`` process and prints the actions as JSON; they
must equal, to 1e-5, what our ``openpi`` family gets for the same observation on a fresh
connection (the server gives every connection the same noise seed).
"""

from __future__ import annotations

from collections.abc import Iterator
import json
import os
from pathlib import Path
import shutil
import subprocess
import sys

import numpy as np
import pytest

from vla_ros.core.remote_config import RemoteServerConfig
from vla_ros.core.types import Observation
from vla_ros.policies.remote.openpi import OpenpiPolicy

REACH = Path('checkpoints') / 'flow' / 'reach'
VENV = Path.home() / '.cache' / 'vla_ros' / 'openpi_client_venv'

#: Runs in the openpi-client environment: argv = port, observation .npz; prints JSON.
STOCK_CLIENT = """
import json, sys
import numpy as np
from openpi_client import websocket_client_policy

with np.load(sys.argv[2]) as saved:
    cameras = [str(name) for name in saved['cameras']]
    observation = {'images': {name: saved['image_' + name] for name in cameras},
                   'joint_names': [str(name) for name in saved['joint_names']],
                   'joint_positions': saved['joint_positions'],
                   'prompt': str(saved['prompt'])}
policy = websocket_client_policy.WebsocketClientPolicy(host='127.0.0.1', port=int(sys.argv[1]))
metadata = policy.get_server_metadata()
reply = policy.infer(observation)
print(json.dumps({'metadata_keys': sorted(metadata), 'actions': reply['actions'].tolist(),
                  'numpy': np.__version__}))
"""


def usable(python: Path) -> bool:
    """Whether ``python`` exists and imports openpi's websocket client."""
    return python.exists() and subprocess.run(
        [str(python), '-c', 'import openpi_client.websocket_client_policy'],
        capture_output=True, timeout=120).returncode == 0


def stock_client_python() -> Path:
    """The openpi-client environment's python, made on first use; skips if it cannot be.

    openpi-client 0.1.2 imports ``typing_extensions`` without declaring it, so that is
    installed next to it.
    """
    python = VENV / 'bin' / 'python'
    if usable(python):
        return python
    partial = VENV.with_name(f'{VENV.name}.partial-{os.getpid()}')
    subprocess.run([sys.executable, '-m', 'venv', '--clear', str(partial)], check=True,
                   timeout=300)
    installed = subprocess.run(
        [str(partial / 'bin' / 'python'), '-m', 'pip', 'install', '-q', 'openpi-client',
         'typing-extensions'], capture_output=True, text=True, timeout=600)
    if installed.returncode != 0:
        shutil.rmtree(partial, ignore_errors=True)
        pytest.skip('cannot install openpi-client from the package index (unreachable?): '
                    f'{installed.stderr.strip().splitlines()[-1:]}')
    shutil.rmtree(VENV, ignore_errors=True)
    partial.rename(VENV)  # complete environments only: an interrupted one is made again
    return python


@pytest.fixture(scope='module')
def served_port(repo_root: Path) -> Iterator[int]:
    """``vla-ros serve`` for the reach checkpoint; its port."""
    process = subprocess.Popen(
        ['vla-ros', 'serve', '--family', 'flow', '--checkpoint', str(REACH), '--threads', '1',
         '--port', '0'], cwd=repo_root, text=True, stdout=subprocess.PIPE,
        stderr=subprocess.DEVNULL)
    assert process.stdout is not None
    line = process.stdout.readline()
    assert ' on ws://127.0.0.1:' in line, f'vla-ros serve printed {line!r}'
    yield int(line.split(' on ws://127.0.0.1:')[1].split()[0])
    process.terminate()
    process.wait(timeout=30)


def test_the_stock_openpi_client_gets_the_actions_our_client_gets(
        served_port: int, tmp_path: Path) -> None:
    python = stock_client_python()
    ours = OpenpiPolicy(RemoteServerConfig(url=f'ws://127.0.0.1:{served_port}'))
    spec = ours.spec
    rng = np.random.default_rng(3)
    observation = Observation(
        images={camera: rng.integers(0, 256, (spec.image_height, spec.image_width, 3),
                                     dtype=np.uint8) for camera in spec.camera_names},
        joint_names=spec.joint_names, joint_positions=rng.normal(0.0, 0.3, 7),
        instruction='touch the red cube')
    ours_actions = ours.infer(observation).positions
    ours.close()
    saved = tmp_path / 'observation.npz'
    np.savez(saved, cameras=np.array(spec.camera_names),
             joint_names=np.array(spec.joint_names),
             joint_positions=observation.joint_positions,
             prompt=np.array(observation.instruction),
             **{f'image_{name}': image for name, image in observation.images.items()})
    script = tmp_path / 'stock_client.py'
    script.write_text(STOCK_CLIENT)

    run = subprocess.run([str(python), str(script), str(served_port), str(saved)],
                         capture_output=True, text=True, timeout=120, cwd=tmp_path)
    assert run.returncode == 0, run.stderr[-2000:]
    stock = json.loads(run.stdout.strip().splitlines()[-1])

    assert stock['numpy'].startswith('1.')  # really the stock client's own numpy < 2 world
    assert stock['metadata_keys'] == ['vla_ros']
    stock_actions = np.array(stock['actions'])
    print(f'largest |stock - ours|: {np.abs(stock_actions - ours_actions).max()}')
    assert stock_actions.shape == ours_actions.shape == (spec.chunk_length, 7)
    np.testing.assert_allclose(stock_actions, ours_actions, atol=1e-5)
