# SPDX-License-Identifier: Apache-2.0
# Copyright 2026 The vla_ros authors
"""Expert demonstrations: record to disk in real MuJoCo, read back, cut into training samples."""

from __future__ import annotations

from pathlib import Path

import numpy as np
from numpy.testing import assert_allclose, assert_array_equal
import pytest

from vla_ros.core.config import CameraConfig
from vla_ros.core.errors import ConfigError
from vla_ros.sim import TabletopSim
from vla_ros.sim.demonstrations import (
    Demonstration,
    DemonstrationDataset,
    load_demonstration,
    record_demonstrations,
    record_episode,
)
from vla_ros.sim.tasks import make_episode, TaskKind

SCENE_PATH = Path(__file__).resolve().parents[2] / 'urdf' / 'tabletop_scene.xml'
CAMERAS = (CameraConfig(name='front', topic='camera/front/image_raw', width=64, height=64),
           CameraConfig(name='wrist', topic='camera/wrist/image_raw', width=64, height=64))
HOME = np.array([0.0, 0.4, 1.7, 0.0, 1.04, 0.0, 0.04])
SEED = 5
CHUNK = 10


@pytest.fixture(scope='module')
def dataset_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """Two reach episodes, seeds 5 and 6."""
    out_dir = tmp_path_factory.mktemp('demos')
    seen: list[int] = []
    paths = record_demonstrations(mjcf_path=SCENE_PATH, task=TaskKind.REACH, count=2, seed=SEED,
                                  cameras=CAMERAS, out_dir=out_dir,
                                  on_episode=lambda index, _demo: seen.append(index))
    assert seen == [0, 1]
    assert [path.name for path in paths] == ['episode_000000.npz', 'episode_000001.npz']
    return out_dir


@pytest.fixture(scope='module')
def episodes(dataset_dir: Path) -> list[Demonstration]:
    return [load_demonstration(path) for path in sorted(dataset_dir.glob('*.npz'))]


def test_episode_files_hold_the_expert_run(episodes: list[Demonstration]) -> None:
    for index, demo in enumerate(episodes):
        assert demo.episode == make_episode(TaskKind.REACH, SEED + index)
        assert demo.success and demo.dt_s == 0.1
        assert demo.joint_names == ('joint1', 'joint2', 'joint3', 'joint4', 'joint5', 'joint6',
                                    'gripper_joint')
        steps = demo.length
        assert 5 <= steps <= 20
        assert set(demo.images) == {'front', 'wrist'}
        for frames in demo.images.values():
            assert frames.shape == (steps, 64, 64, 3) and frames.dtype == np.uint8
            assert frames.reshape(steps, -1).std(axis=1).min() > 10.0  # a scene, not a blank
        assert demo.joint_positions.shape == demo.actions.shape == (steps, 7)
        assert_allclose(demo.joint_positions[0], HOME, atol=1e-6)
        # Each action is the target for the next step: the arm gets there (servo lag aside).
        assert_allclose(demo.joint_positions[1:], demo.actions[:-1], atol=0.08)
        assert np.abs(demo.actions[-1] - demo.actions[-2]).max() < 1e-3  # holding at the end
    assert not np.array_equal(episodes[0].images['front'][0], episodes[1].images['front'][0])


def test_samples_pair_each_step_with_the_next_chunk(dataset_dir: Path,
                                                    episodes: list[Demonstration]) -> None:
    dataset = DemonstrationDataset(dataset_dir, chunk_length=CHUNK)
    first, second = episodes
    assert len(dataset) == first.length + second.length and dataset.dt_s == 0.1

    sample = dataset[1]
    assert_array_equal(sample.actions, first.actions[1:1 + CHUNK])
    assert not sample.is_padding.any()
    assert sample.observation.instruction == first.episode.instruction
    assert sample.observation.stamp_s == pytest.approx(0.1)
    assert_array_equal(sample.observation.images['wrist'], first.images['wrist'][1])
    assert_array_equal(sample.observation.joint_positions, first.joint_positions[1])

    last = dataset[len(dataset) - 1]  # the final step of the second episode
    assert_array_equal(last.actions, np.repeat(second.actions[-1:], CHUNK, axis=0))
    assert last.is_padding.tolist() == [False] + [True] * (CHUNK - 1)
    assert last.observation.instruction == second.episode.instruction
    assert sum(1 for _ in dataset) == len(dataset)


def test_recording_is_deterministic_per_seed(episodes: list[Demonstration]) -> None:
    with TabletopSim(SCENE_PATH) as sim:
        again = record_episode(sim, SCENE_PATH, make_episode(TaskKind.REACH, SEED), CAMERAS)
    assert again.episode == episodes[0].episode
    assert_array_equal(again.actions, episodes[0].actions)
    assert_array_equal(again.joint_positions, episodes[0].joint_positions)
    for camera in ('front', 'wrist'):
        assert_array_equal(again.images[camera], episodes[0].images[camera])


def test_unreadable_datasets_are_rejected(tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match='no episode_'):
        DemonstrationDataset(tmp_path, chunk_length=CHUNK)
    (tmp_path / 'episode_000000.npz').write_bytes(b'not a zip')
    with pytest.raises(ConfigError, match='not a demonstration file'):
        DemonstrationDataset(tmp_path, chunk_length=CHUNK)
    with pytest.raises(ConfigError, match='chunk_length'):
        DemonstrationDataset(tmp_path, chunk_length=0)
