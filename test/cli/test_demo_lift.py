# SPDX-License-Identifier: Apache-2.0
# Copyright 2026 The vla_ros authors
"""`vla-ros demo --task lift` as a user runs it: a subprocess on its own DDS domain."""

from __future__ import annotations

import os
from pathlib import Path
import re
import subprocess

import numpy as np
from PIL import Image


def test_lift_demo_prints_the_cube_height_over_time_and_writes_a_plot(repo_root: Path,
                                                                      tmp_path: Path) -> None:
    plot = tmp_path / 'lift.png'
    env = dict(os.environ, ROS_DOMAIN_ID=str(int(os.environ['ROS_DOMAIN_ID']) + 101))

    done = subprocess.run(['vla-ros', 'demo', '--task', 'lift', '--duration', '8',
                           '--out', str(plot)], cwd=repo_root, env=env, capture_output=True,
                          text=True, timeout=240.0, check=False)

    assert done.returncode == 0, done.stdout + done.stderr
    assert 'goal "pick up the red cube"' in done.stdout  # the lift default instruction
    assert 'tabletop_arm_lift.yaml' in done.stdout  # and the lift policy's config
    (line,) = [text for text in done.stdout.splitlines()
               if 'red cube height above its rest [cm]:' in text]
    samples = re.findall(r'(\d+\.\d) s (-?\d+\.\d)', line)
    times_s = [float(time_s) for time_s, _ in samples]
    assert len(samples) >= 3 and times_s == sorted(times_s), line
    highest_cm = float(re.findall(r'highest (-?\d+\.\d) cm', done.stdout)[0])
    assert highest_cm >= max(float(height) for _, height in samples)
    if 'lifted the red cube' in done.stdout:  # most runs, not all (docs/results.md)
        assert highest_cm > 5.0, done.stdout
    with Image.open(plot) as image:
        pixels = np.asarray(image.convert('RGB'))
    assert pixels.shape[1] > pixels.shape[0] > 200 and pixels.std() > 20.0
