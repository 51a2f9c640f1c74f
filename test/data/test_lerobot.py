# SPDX-License-Identifier: Apache-2.0
# Copyright 2026 The vla_ros authors
"""LeRobot v3.0 export, import and training samples, on a recording of known values."""

from __future__ import annotations

import json

import numpy as np
import pytest
from rosbags.highlevel import AnyReader
import synthetic_bags as synthetic

from vla_ros.core.errors import DataError
from vla_ros.data.episodes import EpisodeOutcome
from vla_ros.data.lerobot_dataset import LeRobotTrainingDataset
from vla_ros.data.lerobot_export import export_lerobot, ExportOptions
from vla_ros.data.lerobot_import import import_lerobot
from vla_ros.data.lerobot_layout import ImageStorage
from vla_ros.data.lerobot_reader import LeRobotReader
from vla_ros.data.table_files import read_table, TableFormat
from vla_ros.data.video_files import video_available

FPS = 10
INSTRUCTIONS = [episode[0] for episode in synthetic.EPISODES]
LENGTHS = [13, 16]  # 300..1500 ms and 2000..3500 ms at 10 fps
IN_ROWS = ExportOptions(fps=FPS, image_storage=ImageStorage.IMAGE, table_format=TableFormat.NPZ)


def _frame_ms() -> list[float]:
    """The time of every exported frame, in row order."""
    return [start + 100 * k for (_, start, _, _), length in zip(synthetic.EPISODES, LENGTHS)
            for k in range(length)]


@pytest.fixture(scope='module')
def bag(tmp_path_factory):
    return synthetic.write_bag(tmp_path_factory.mktemp('lerobot') / 'bag')


@pytest.fixture(scope='module')
def dataset(bag, tmp_path_factory):
    root = tmp_path_factory.mktemp('dataset') / 'out'
    export_lerobot([bag], root, IN_ROWS)
    return root


def test_export_writes_every_frame_in_the_v3_layout(dataset):
    info = json.loads((dataset / 'meta' / 'info.json').read_text())
    data = read_table(dataset / 'data' / 'chunk-000' / 'file-000.npz')
    episodes = read_table(dataset / 'meta' / 'episodes' / 'chunk-000' / 'file-000.npz')
    tasks = read_table(dataset / 'meta' / 'tasks.npz')

    assert {key: info[key] for key in ('codebase_version', 'fps', 'total_episodes',
                                       'total_frames', 'total_tasks', 'splits', 'data_path',
                                       'video_path')} == {
        'codebase_version': 'v3.0', 'fps': FPS, 'total_episodes': 2, 'total_frames': 29,
        'total_tasks': 2, 'splits': {'train': '0:2'}, 'video_path': None,
        'data_path': 'data/chunk-{chunk_index:03d}/file-{file_index:03d}.npz'}
    joints = ['joint1', 'joint2', 'gripper_joint']
    assert info['features']['observation.state'] == {'dtype': 'float32', 'shape': [3],
                                                     'names': joints}
    assert info['features']['action']['names'] == joints
    assert info['features']['observation.images.front'] == {
        'dtype': 'image', 'shape': [8, 8, 3], 'names': ['height', 'width', 'channels']}
    frame_ms = _frame_ms()
    np.testing.assert_array_equal(data['observation.state'], np.array(
        [synthetic.joint_state(ms) for ms in frame_ms], dtype=np.float32))
    np.testing.assert_array_equal(data['action'], np.array(
        [(*synthetic.arm_target(ms + 100), synthetic.gripper_target(ms + 100))
         for ms in frame_ms], dtype=np.float32))
    np.testing.assert_array_equal(data['observation.images.front'], np.stack(
        [synthetic.front_pixels(int((ms - 1) // 50)) for ms in frame_ms]))
    np.testing.assert_array_equal(data['observation.images.wrist'], np.stack(
        [synthetic.wrist_pixels(int((ms - 1) // 100)) for ms in frame_ms]))
    np.testing.assert_array_equal(data['index'], np.arange(29))
    np.testing.assert_array_equal(data['episode_index'], [0] * 13 + [1] * 16)
    np.testing.assert_array_equal(data['frame_index'], list(range(13)) + list(range(16)))
    np.testing.assert_array_equal(data['task_index'], [0] * 13 + [1] * 16)
    np.testing.assert_allclose(data['timestamp'], data['frame_index'] / FPS, rtol=1e-6)
    assert tasks['task'].tolist() == INSTRUCTIONS
    assert episodes['tasks'].tolist() == [[task] for task in INSTRUCTIONS]
    assert episodes['length'].tolist() == LENGTHS
    assert episodes['dataset_from_index'].tolist() == [0, 13]
    assert episodes['dataset_to_index'].tolist() == [13, 29]
    assert episodes['outcome'].tolist() == ['succeeded', 'failed']


def test_stats_are_those_of_the_exported_frames(dataset):
    stats = json.loads((dataset / 'meta' / 'stats.json').read_text())
    states = np.array([synthetic.joint_state(ms) for ms in _frame_ms()], dtype=np.float32)

    joint1 = stats['observation.state']
    # joint1 is the 20 ms index: 15, 20, ..., 75, then 100, 105, ..., 175.
    assert joint1['count'] == [29]
    assert (joint1['min'][0], joint1['max'][0]) == (15.0, 175.0)
    assert joint1['mean'][0] == pytest.approx((13 * 45 + 16 * 137.5) / 29)
    np.testing.assert_allclose(joint1['std'], states.astype(np.float64).std(axis=0))
    np.testing.assert_allclose(joint1['q01'], np.quantile(states.astype(np.float64), 0.01,
                                                          axis=0))
    np.testing.assert_allclose(joint1['q99'], np.quantile(states.astype(np.float64), 0.99,
                                                          axis=0))
    # Every 5th frame's images: front images 5, 15, 25 then 39, 49, 59, 69; red = index.
    red = stats['observation.images.front']['mean'][0]
    assert red == [[pytest.approx(np.mean([5, 15, 25, 39, 49, 59, 69]) / 255)]]
    assert stats['episode_index']['mean'] == [pytest.approx(16 / 29)]


def test_export_import_export_gives_the_same_frames(dataset, tmp_path):
    bag = tmp_path / 'imported'
    summary = import_lerobot(dataset, bag)
    again = tmp_path / 'again'
    export_lerobot([bag], again, IN_ROWS)

    assert (summary.episodes, summary.frames) == (2, 29)
    first = read_table(dataset / 'data' / 'chunk-000' / 'file-000.npz')
    second = read_table(again / 'data' / 'chunk-000' / 'file-000.npz')
    assert sorted(first) == sorted(second)
    for column, values in first.items():
        np.testing.assert_array_equal(second[column], values, err_msg=column)
    for name in ('info.json', 'stats.json'):
        assert json.loads((again / 'meta' / name).read_text()) == json.loads(
            (dataset / 'meta' / name).read_text())
    with AnyReader([bag]) as reader:
        counts = {c.topic: c.msgcount for c in reader.connections}
        starts = [reader.deserialize(data, c.msgtype).data for c, _, data in reader.messages()
                  if c.topic == '/vla/episode/start']
    assert counts == {'/vla/episode/start': 2, '/vla/episode/stop': 2, '/joint_states': 29,
                      '/camera/front/image_raw': 29, '/camera/wrist/image_raw': 29,
                      '/joint_trajectory': 29}
    assert starts == INSTRUCTIONS


def test_training_samples_pair_each_frame_with_the_actions_after_it(dataset):
    successful = LeRobotTrainingDataset(dataset, chunk_length=4)
    everything = LeRobotTrainingDataset(dataset, chunk_length=4, successful_only=False)

    assert (len(successful), len(everything)) == (13, 29)
    assert successful.dt_s == pytest.approx(0.1)
    assert [(e.instruction, e.outcome, e.length, e.success) for e in everything.episodes] == [
        (INSTRUCTIONS[0], EpisodeOutcome.SUCCEEDED, 13, True),
        (INSTRUCTIONS[1], EpisodeOutcome.FAILED, 16, False)]
    sample = everything[13 + 14]  # episode 1, frame 14 of 16
    actions = [(*synthetic.arm_target(2000 + 100 * k + 100),
                synthetic.gripper_target(2000 + 100 * k + 100)) for k in (14, 15, 15, 15)]
    np.testing.assert_allclose(sample.actions, actions, rtol=1e-6)
    assert sample.is_padding.tolist() == [False, False, True, True]
    assert sample.observation.instruction == 'put it down'
    assert sample.observation.joint_names == ('joint1', 'joint2', 'gripper_joint')
    np.testing.assert_allclose(sample.observation.joint_positions,
                               synthetic.joint_state(3400), rtol=1e-6)
    np.testing.assert_array_equal(sample.observation.images['wrist'],
                                  synthetic.wrist_pixels(33))


def test_export_refuses_an_existing_directory_and_episodes_without_a_task(bag, dataset, tmp_path):
    with pytest.raises(DataError, match='exists already'):
        export_lerobot([bag], dataset, IN_ROWS)
    unmarked = synthetic.write_bag(tmp_path / 'unmarked', markers=False)
    with pytest.raises(DataError, match='has no instruction; give a default task'):
        export_lerobot([unmarked], tmp_path / 'out', IN_ROWS)


@pytest.mark.skipif(TableFormat.PARQUET.available, reason='pyarrow is installed here')
def test_parquet_without_pyarrow_is_a_clear_error(bag, tmp_path):
    options = ExportOptions(fps=FPS, image_storage=ImageStorage.IMAGE,
                            table_format=TableFormat.PARQUET)

    with pytest.raises(DataError, match='Parquet tables need pyarrow'):
        export_lerobot([bag], tmp_path / 'out', options)


def test_parquet_tables_and_mp4_videos_read_back(bag, tmp_path):
    pytest.importorskip('pyarrow')
    video = video_available()
    options = ExportOptions(fps=FPS, table_format=TableFormat.PARQUET,
                            image_storage=ImageStorage.VIDEO if video else ImageStorage.IMAGE)
    export_lerobot([bag], tmp_path / 'out', options)

    reader = LeRobotReader(tmp_path / 'out')
    loaded = reader.load(reader.episodes[1])
    frame_ms = _frame_ms()[13:]
    np.testing.assert_allclose(loaded.joint_positions,
                               [synthetic.joint_state(ms) for ms in frame_ms], rtol=1e-6)
    expected = np.stack([synthetic.front_pixels(int((ms - 1) // 50)) for ms in frame_ms])
    error = np.abs(loaded.images['front'].astype(float) - expected)
    assert error.mean() < (4.0 if video else 1e-9)  # MP4 (yuv420p) is lossy, PNG is not
