# SPDX-License-Identifier: Apache-2.0
# Copyright 2026 The vla_ros authors
"""`vla-ros demos` and `vla-ros eval` with ``--task place``, as a user runs them."""

from __future__ import annotations

import os
from pathlib import Path
import subprocess

import numpy as np
import pytest

from vla_ros.sim.demonstrations import load_demonstration
from vla_ros.sim.tasks import make_episode, TaskKind


def _run(repo_root: Path, *args: str) -> subprocess.CompletedProcess[str]:
    env = dict(os.environ, ROS_DOMAIN_ID=str(int(os.environ['ROS_DOMAIN_ID']) + 100))
    return subprocess.run(['vla-ros', *args], cwd=repo_root, env=env, capture_output=True,
                          text=True, timeout=120, check=False)


def test_demos_records_a_place_episode_in_the_place_scene(repo_root: Path,
                                                          tmp_path: Path) -> None:
    done = _run(repo_root, 'demos', '--config', 'config/tabletop_arm_place.yaml', '--task',
                'place', '--episodes', '1', '--seed', '11', '--out', str(tmp_path))

    assert done.returncode == 0, done.stdout + done.stderr
    assert 'expert success 1/1' in done.stdout
    demo = load_demonstration(tmp_path / 'episode_000000.npz')
    assert demo.episode == make_episode(TaskKind.PLACE, 11) and demo.success
    first, last = demo.images['front'][0], demo.images['front'][-1]
    assert first.shape == (64, 64, 3) and np.abs(first.astype(int) - last).max() > 50


@pytest.mark.parametrize('verb', ['demos', 'eval'])
def test_place_needs_the_place_scene(repo_root: Path, tmp_path: Path, verb: str) -> None:
    extra = ['--out', str(tmp_path / 'd')] if verb == 'demos' else [
        '--expert', '--json', str(tmp_path / 'r.json')]

    done = _run(repo_root, verb, '--task', 'place', '--episodes', '1', *extra)

    assert done.returncode == 1
    assert f"vla-ros {verb}: task 'place': the scene (sim.objects) lacks ['target_pad']" \
        in done.stderr
    assert 'Traceback' not in done.stderr and not any(tmp_path.iterdir())
