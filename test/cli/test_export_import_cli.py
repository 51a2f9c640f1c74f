# SPDX-License-Identifier: Apache-2.0
# Copyright 2026 The vla_ros authors
"""`vla-ros export` and `vla-ros import` as a user runs them: subprocesses, exit codes, output."""

from __future__ import annotations

import json
from pathlib import Path
import subprocess

import numpy as np

from vla_ros.data import BagWriter, MessageTypes
from vla_ros.data.table_files import read_table, TableFormat
from vla_ros.data.video_files import video_available

T0_NS = 1_700_000_000_000_000_000
STEP_NS = 50_000_000  # 20 Hz
JOINTS = ['joint1', 'gripper_joint']


def _run(*args: str, cwd: Path) -> subprocess.CompletedProcess[str]:
    return subprocess.run(['vla-ros', *args], cwd=cwd, capture_output=True, text=True,
                          timeout=120, check=False)


def _write_bag(path: Path) -> None:
    """One 1 s episode at 20 Hz: joint states, a 4x4 camera and a command per step."""
    types = MessageTypes().typestore
    store = types.types
    empty = np.zeros(0)

    def write(writer, topic, type_name, stamp_ns, message) -> None:
        writer.write(topic, type_name, stamp_ns, bytes(types.serialize_cdr(message, type_name)))

    with BagWriter(path, message_types=MessageTypes()) as writer:
        write(writer, '/vla/episode/start', 'std_msgs/msg/String', T0_NS,
              store['std_msgs/msg/String'](data='stack the cubes'))
        for step in range(21):
            stamp_ns = T0_NS + step * STEP_NS
            header = store['std_msgs/msg/Header'](
                stamp=store['builtin_interfaces/msg/Time'](sec=0, nanosec=0), frame_id='')
            write(writer, '/joint_states', 'sensor_msgs/msg/JointState', stamp_ns,
                  store['sensor_msgs/msg/JointState'](
                      header=header, name=JOINTS, position=np.array([0.1 * step, 0.01]),
                      velocity=empty, effort=empty))
            write(writer, '/camera/top/image_raw', 'sensor_msgs/msg/Image', stamp_ns,
                  store['sensor_msgs/msg/Image'](
                      header=header, height=4, width=4, encoding='rgb8', is_bigendian=0,
                      step=12, data=np.full(48, step, dtype=np.uint8)))
            point = store['trajectory_msgs/msg/JointTrajectoryPoint'](
                positions=np.array([0.1 * step + 0.05, 0.02]), velocities=empty,
                accelerations=empty, effort=empty,
                time_from_start=store['builtin_interfaces/msg/Duration'](sec=0,
                                                                         nanosec=STEP_NS))
            write(writer, '/arm_controller/joint_trajectory',
                  'trajectory_msgs/msg/JointTrajectory', stamp_ns,
                  store['trajectory_msgs/msg/JointTrajectory'](header=header, joint_names=JOINTS,
                                                               points=[point]))
        write(writer, '/vla/episode/stop', 'std_msgs/msg/String', stamp_ns,
              store['std_msgs/msg/String'](data='succeeded'))


def test_export_then_import_then_export_again(tmp_path):
    _write_bag(tmp_path / 'bag')

    exported = _run('export', 'bag', '--lerobot', 'out', '--fps', '10', '--tables', 'npz',
                    '--images', 'image', cwd=tmp_path)
    imported = _run('import', 'out', '-o', 'back', cwd=tmp_path)
    again = _run('export', 'back', '--lerobot', 'again', '--fps', '10', '--tables', 'npz',
                 '--images', 'image', cwd=tmp_path)

    assert exported.returncode == 0, exported.stderr
    assert exported.stdout.splitlines() == [
        'vla-ros export: 1 episodes, 11 frames at 10 fps; joints joint1, gripper_joint; '
        'cameras top 4x4', '  task 0: stack the cubes', 'dataset: out']
    assert imported.returncode == 0, imported.stderr
    assert imported.stdout.splitlines() == [
        'vla-ros import: 1 episodes, 11 frames, 35 messages', 'bag: back']
    assert again.returncode == 0, again.stderr
    first = read_table(tmp_path / 'out' / 'data' / 'chunk-000' / 'file-000.npz')
    second = read_table(tmp_path / 'again' / 'data' / 'chunk-000' / 'file-000.npz')
    for column, values in first.items():
        np.testing.assert_array_equal(second[column], values, err_msg=column)
    # Frame k's action: the command due at k + 1, the last one held past the recording.
    np.testing.assert_allclose(first['action'][:, 0], [0.2 * k + 0.15 for k in range(10)]
                               + [2.05], rtol=1e-6)
    info = json.loads((tmp_path / 'again' / 'meta' / 'info.json').read_text())
    assert (info['total_episodes'], info['total_frames']) == (1, 11)


def test_default_formats_are_announced_and_errors_are_one_line(tmp_path):
    _write_bag(tmp_path / 'bag')

    exported = _run('export', 'bag', '--lerobot', 'out', '--fps', '10', cwd=tmp_path)
    existing = _run('export', 'bag', '--lerobot', 'out', cwd=tmp_path)
    missing = _run('import', 'nowhere', '-o', 'x', cwd=tmp_path)

    notes = [line for line in exported.stdout.splitlines() if 'is not installed' in line]
    assert exported.returncode == 0, exported.stderr
    assert len(notes) == (not TableFormat.PARQUET.available) + (not video_available())
    assert existing.returncode == 1
    assert existing.stderr == ('vla-ros export: out: exists already; choose a new dataset '
                               'directory\n')
    assert missing.returncode == 1
    assert missing.stderr.startswith('vla-ros import: nowhere: not a LeRobot dataset')
    assert len(missing.stderr.splitlines()) == 1
