# SPDX-License-Identifier: Apache-2.0
# Copyright 2026 The vla_ros authors
"""The installed `vla-ros` command as a user runs it: a subprocess on its own DDS domain."""

from __future__ import annotations

import os
from pathlib import Path
import re
import subprocess

import numpy as np
from PIL import Image


def _run(repo_root: Path, *args: str,
         timeout_s: float = 180.0) -> subprocess.CompletedProcess[str]:
    env = dict(os.environ, ROS_DOMAIN_ID=str(int(os.environ['ROS_DOMAIN_ID']) + 100))
    return subprocess.run(['vla-ros', *args], cwd=repo_root, env=env, capture_output=True,
                          text=True, timeout=timeout_s, check=False)


def test_help_lists_every_verb(repo_root):
    done = _run(repo_root, '--help')

    assert done.returncode == 0
    for verb in ('sim', 'instruct', 'execute', 'stop', 'resume', 'demo', 'demos', 'eval',
                 'record', 'play'):
        assert verb in done.stdout


def test_instruct_without_a_policy_node_fails_in_one_line(repo_root):
    done = _run(repo_root, 'instruct', 'touch the red cube', '--timeout', '1')

    assert done.returncode == 2
    assert done.stderr.strip() == (
        "vla-ros instruct: service 'vla/set_instruction' not available within 1.0 s")


def test_demo_takes_the_arm_to_the_instructed_cube_and_writes_a_plot(repo_root, tmp_path):
    plot = tmp_path / 'demo.png'

    done = _run(repo_root, 'demo', '--duration', '8', '--out', str(plot))  # "touch the red cube"

    assert done.returncode == 0, done.stdout + done.stderr
    assert 'chunks executed:' in done.stdout
    factor, simulated_s, wall_s = map(float, re.search(
        r'real-time factor: (\d+\.\d+) \((\d+\.\d) s simulated in (\d+\.\d) s wall',
        done.stdout).groups())
    # The goal ran until the reach (0.6 s here) or its 8 s, and the factor is their ratio.
    assert 0.0 < simulated_s <= 8.5 and wall_s > 0.0, done.stdout
    assert abs(factor - simulated_s / wall_s) <= 0.01 + 0.1 * factor, done.stdout
    ends = dict(re.findall(r'(red|green|blue) (\d+\.\d) cm', done.stdout.split('at the end:')[-1]))
    distances_cm = {colour: float(value) for colour, value in ends.items()}
    # The trained policy reaches within the 3 cm tolerance and then holds (1.3-2.8 cm here,
    # also with the demo stopped 90 % of the time). At the start, scene 0 has the blue cube
    # nearest (12.3 cm), then red (12.5 cm). Before the policy node ran on simulated time, a
    # loaded CI run cut its chunks short and the arm ended nearest the blue cube.
    assert min(distances_cm, key=distances_cm.__getitem__) == 'red', done.stdout
    assert distances_cm['red'] < 6.0, done.stdout
    with Image.open(plot) as image:
        pixels = np.asarray(image.convert('RGB'))
    assert pixels.shape[1] > pixels.shape[0] > 200 and pixels.std() > 20.0
