# SPDX-License-Identifier: Apache-2.0
# Copyright 2026 The vla_ros authors
"""`vla-ros eval` as a user runs it: a subprocess on its own DDS domain, the whole ROS stack."""

from __future__ import annotations

import json
import os
from pathlib import Path
import re
import subprocess

from vla_ros.sim.tasks import make_episode, TaskKind


def _run(repo_root: Path, *args: str) -> subprocess.CompletedProcess[str]:
    env = dict(os.environ, ROS_DOMAIN_ID=str(int(os.environ['ROS_DOMAIN_ID']) + 100))
    return subprocess.run(['vla-ros', *args], cwd=repo_root, env=env, capture_output=True,
                          text=True, timeout=180, check=False)


def test_expert_scores_every_reach_episode_through_ros(repo_root: Path, tmp_path: Path) -> None:
    report_path = tmp_path / 'eval' / 'reach.json'

    done = _run(repo_root, 'eval', '--expert', '--task', 'reach', '--episodes', '2',
                '--seed', '3', '--episode-timeout', '10', '--json', str(report_path))

    assert done.returncode == 0, done.stdout + done.stderr
    assert 'success rate 1.00 (2/2; 95 % interval 0.34-1.00)' in done.stdout
    factor, simulated_s, wall_s = map(float, re.search(
        r'real-time factor (\d+\.\d+) \((\d+\.\d) s simulated in (\d+\.\d) s wall',
        done.stdout).groups())
    report = json.loads(report_path.read_text())
    # The simulated time covers both episodes (and their settling), and the factor is the ratio.
    assert simulated_s >= sum(r['duration_s'] for r in report['per_episode']) - 0.1
    assert wall_s > 0.0 and abs(factor - simulated_s / wall_s) <= 0.01 + 0.1 * factor
    assert report['mode'] == 'expert' and report['task'] == 'reach'
    assert report['episodes'] == 2 and report['successes'] == 2
    assert report['success_rate'] == 1.0
    assert 0.0 < report['mean_time_to_success_s'] < 10.0
    latency = report['inference_latency_ms']
    assert latency['count'] >= 2 and 0.0 < latency['p50'] <= latency['p95']
    for index, record in enumerate(report['per_episode']):
        episode = make_episode(TaskKind.REACH, 3 + index)
        assert record['index'] == index and record['seed'] == episode.seed
        assert record['instruction'] == episode.instruction
        assert record['colour'] == episode.colour.value
        assert record['success'] is True
        assert record['time_to_success_s'] == record['duration_s'] > 0.0


def test_eval_needs_a_policy_or_the_expert(repo_root: Path, tmp_path: Path) -> None:
    done = _run(repo_root, 'eval', '--task', 'reach', '--json', str(tmp_path / 'r.json'))

    assert done.returncode == 2
    assert 'one of the arguments --policy --expert is required' in done.stderr
    assert not (tmp_path / 'r.json').exists()
