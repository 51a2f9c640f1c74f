# SPDX-License-Identifier: Apache-2.0
# Copyright 2026 The vla_ros authors
"""`vla-ros demos` as a user runs it: one recorded episode, read back by the loader."""

from __future__ import annotations

import os
from pathlib import Path
import subprocess

import numpy as np

from vla_ros.sim.demonstrations import load_demonstration
from vla_ros.sim.tasks import make_episode, TaskKind


def _demos(repo_root: Path, out_dir: Path, *flags: str) -> subprocess.CompletedProcess[str]:
    """`vla-ros demos` of one episode at seed 9 into ``out_dir``, on this domain + 100."""
    env = dict(os.environ, ROS_DOMAIN_ID=str(int(os.environ['ROS_DOMAIN_ID']) + 100))
    return subprocess.run(['vla-ros', 'demos', '--episodes', '1', '--seed', '9', *flags,
                           '--out', str(out_dir)], cwd=repo_root, env=env,
                          capture_output=True, text=True, timeout=120, check=False)


def test_demos_records_an_episode_per_seed(repo_root: Path, tmp_path: Path) -> None:
    out_dir = tmp_path / 'demos'
    env = dict(os.environ, ROS_DOMAIN_ID=str(int(os.environ['ROS_DOMAIN_ID']) + 100))

    done = subprocess.run(
        ['vla-ros', 'demos', '--task', 'lift', '--episodes', '1', '--seed', '9',
         '--out', str(out_dir)], cwd=repo_root, env=env, capture_output=True, text=True,
        timeout=120, check=False)

    assert done.returncode == 0, done.stdout + done.stderr
    assert '1/1 episodes, 1 successful' in done.stdout
    assert 'expert success 1/1' in done.stdout
    demo = load_demonstration(out_dir / 'episode_000000.npz')
    assert demo.episode == make_episode(TaskKind.LIFT, 9) and demo.success
    assert demo.images['front'].shape == (demo.length, 64, 64, 3)


def test_demos_records_a_recovery_from_a_missed_grasp(repo_root: Path, tmp_path: Path) -> None:
    out_dir = tmp_path / 'recovery'
    env = dict(os.environ, ROS_DOMAIN_ID=str(int(os.environ['ROS_DOMAIN_ID']) + 100))

    done = subprocess.run(
        ['vla-ros', 'demos', '--task', 'lift', '--episodes', '1', '--seed', '9',
         '--missed-grasp', '--out', str(out_dir)], cwd=repo_root, env=env,
        capture_output=True, text=True, timeout=120, check=False)

    assert done.returncode == 0, done.stdout + done.stderr
    demo = load_demonstration(out_dir / 'episode_000000.npz')
    assert demo.success and demo.joint_positions[0, 6] < 0.005  # starts closed and empty

    refused = subprocess.run(
        ['vla-ros', 'demos', '--task', 'reach', '--episodes', '1', '--missed-grasp',
         '--out', str(tmp_path / 'reach')], cwd=repo_root, env=env, capture_output=True,
        text=True, timeout=120, check=False)
    assert refused.returncode != 0
    assert "--missed-grasp: the 'reach' task has no grasp to miss" in refused.stderr
    assert 'Traceback' not in refused.stderr
    assert not (tmp_path / 'reach').exists()


def test_demos_records_a_recovery_from_a_near_miss(repo_root: Path, tmp_path: Path) -> None:
    def demos(*flags: str, out: str) -> subprocess.CompletedProcess[str]:
        return _demos(repo_root, tmp_path / out, *flags)

    done = demos('--task', 'lift', '--near-miss', out='near')
    assert done.returncode == 0, done.stdout + done.stderr
    demo = load_demonstration(tmp_path / 'near' / 'episode_000000.npz')
    assert demo.success and demo.joint_positions[0, 6] > 0.02  # starts open, off centre

    for flags, message in ((('--task', 'reach', '--near-miss'),
                            "--near-miss: the 'reach' task has no grasp to miss"),
                           (('--task', 'lift', '--near-miss', '--missed-grasp'),
                            '--missed-grasp and --near-miss')):
        refused = demos(*flags, out='refused')
        assert refused.returncode != 0 and message in refused.stderr
        assert 'Traceback' not in refused.stderr
        assert not (tmp_path / 'refused').exists()


def test_demos_records_the_humanoid_with_action_noise(repo_root: Path, tmp_path: Path) -> None:
    def demos(*flags: str, out: str) -> subprocess.CompletedProcess[str]:
        return _demos(repo_root, tmp_path / out, *flags)

    done = demos('--config', 'config/g1_reach.yaml', '--task', 'hand_reach',
                 '--action-noise', '0.03', out='noisy')
    assert done.returncode == 0, done.stdout + done.stderr
    assert 'expert success 1/1' in done.stdout
    assert load_demonstration(tmp_path / 'noisy' / 'episode_000000.npz').success

    for flags, message in ((('--task', 'lift', '--action-noise', '0.03'),
                            "--action-noise: applies to hand_reach, not 'lift'"),
                           (('--config', 'config/g1_reach.yaml', '--task', 'hand_reach',
                             '--action-noise', '-0.1'), '--action-noise -0.1: expected >= 0')):
        refused = demos(*flags, out='refused')
        assert refused.returncode != 0 and message in refused.stderr
        assert 'Traceback' not in refused.stderr
        assert not (tmp_path / 'refused').exists()


def test_demos_records_the_bimanual_side_reach_driven_by_a_policy(
        repo_root: Path, tmp_path: Path) -> None:
    """The shipped ALOHA policy drives, the expert labels: the recorded states are the policy's."""
    flags = ('--config', 'config/aloha_reach.yaml', '--task', 'side_reach', '--episodes', '2',
             '--seed', '5000')
    driven = _demos(repo_root, tmp_path / 'dagger', *flags, '--dagger',
                    'checkpoints/flow/aloha_reach', '--horizon', '5')
    expert = _demos(repo_root, tmp_path / 'expert', *flags)
    assert driven.returncode == 0, driven.stdout + driven.stderr
    assert 'driving policy success' in driven.stdout
    assert expert.returncode == 0, expert.stdout + expert.stderr

    for index in range(2):
        name = f'episode_{index:06d}.npz'
        demo = load_demonstration(tmp_path / 'dagger' / name)
        alone = load_demonstration(tmp_path / 'expert' / name)
        assert demo.relabelled and not alone.relabelled
        assert demo.joint_names == alone.joint_names and len(demo.joint_names) == 14
        assert demo.images['cam_high'].shape == (demo.length, 64, 64, 3)
        # The policy drove: its states leave the expert's path after the first step, while the
        # first label (from the same reset) is the expert's own first step.
        steps = min(demo.length, alone.length)
        np.testing.assert_allclose(demo.actions[0], alone.actions[0], atol=1e-9)
        assert np.abs(demo.joint_positions[1:steps] - alone.joint_positions[1:steps]).max() > 0.01


def test_demos_records_the_humanoid_driven_by_a_policy(repo_root: Path, tmp_path: Path) -> None:
    def demos(*flags: str, out: str) -> subprocess.CompletedProcess[str]:
        return _demos(repo_root, tmp_path / out, *flags)

    done = demos('--config', 'config/g1_reach.yaml', '--task', 'hand_reach',
                 '--dagger', 'checkpoints/flow/g1_reach', '--horizon', '5', out='dagger')
    assert done.returncode == 0, done.stdout + done.stderr
    assert 'driving policy success' in done.stdout
    demo = load_demonstration(tmp_path / 'dagger' / 'episode_000000.npz')
    assert demo.relabelled and len(demo.joint_names) == 31
    assert demo.images['head'].shape == (demo.length, 64, 64, 3)

    g1 = ('--config', 'config/g1_reach.yaml', '--task', 'hand_reach')
    for flags, message in (
            (('--config', 'config/aloha_reach.yaml', '--task', 'handover', '--dagger',
              'checkpoints/flow/aloha_reach'), "--dagger: applies to reach, lift, place, "
             "side_reach and hand_reach, not 'handover'"),
            (('--task', 'lift', '--missed-grasp', '--dagger', 'checkpoints/flow/lift'),
             '--dagger: a driven episode starts from the reset'),
            ((*g1, '--dagger', 'checkpoints/flow/g1_reach', '--action-noise', '0.03'),
             '--dagger and --action-noise'),
            ((*g1, '--horizon', '5'), '--horizon 5: applies to --dagger'),
            ((*g1, '--dagger', 'checkpoints/flow/lift'), 'the driver outputs')):
        refused = demos(*flags, out='refused')
        assert refused.returncode != 0 and message in refused.stderr, refused.stderr
        assert 'Traceback' not in refused.stderr
        assert not (tmp_path / 'refused').exists()
