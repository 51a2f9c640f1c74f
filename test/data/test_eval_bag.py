# SPDX-License-Identifier: Apache-2.0
# Copyright 2026 The vla_ros authors
"""Open-loop evaluation on a bag whose commands are the policy's own first chunk rows.

A policy loaded from a checkpoint draws the same noise sequence every time it is loaded, so
a fresh copy run on the same observations in the same order predicts exactly the chunks the
bag was made from: the first-step error is zero and every other error is known.
"""

from __future__ import annotations

from builtin_interfaces.msg import Duration
import numpy as np
from PIL import Image as PilImage
import pytest
from rclpy.serialization import serialize_message
from sensor_msgs.msg import Image, JointState
from std_msgs.msg import String
import torch
from trajectory_msgs.msg import JointTrajectory, JointTrajectoryPoint

from vla_ros.cli.main import main
from vla_ros.core.types import Observation
from vla_ros.data import BagWriter, MessageTypes
from vla_ros.data.eval_bag import evaluate_bag
from vla_ros.data.eval_plot import plot_episode
from vla_ros.policies.flow.checkpoint import (
    create_random_checkpoint,
    DEFAULT_HOME_POSITIONS,
    DEFAULT_MOTION_STD,
    DEFAULT_SPEC,
)
from vla_ros.policies.registry import load_policy

T0_NS = 1_700_000_000_000_000_000
STEP_NS = 100_000_000  # the policy's dt_s
EPISODES = (('touch the red cube', 0, 4), ('touch the blue cube', 20, 3))  # (task, first, T)
JOINTS = DEFAULT_SPEC.joint_names


@pytest.fixture(scope='module', autouse=True)
def one_torch_thread():
    """One thread, as the eval-bag verb uses: on a busy machine two threads spin and stall."""
    threads = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(threads)


@pytest.fixture(scope='module')
def checkpoint(tmp_path_factory):
    return create_random_checkpoint(tmp_path_factory.mktemp('eval') / 'flow', DEFAULT_SPEC,
                                    seed=0, home_positions=DEFAULT_HOME_POSITIONS,
                                    motion_std=DEFAULT_MOTION_STD)


def _observations() -> list[list[Observation]]:
    """Per episode, per frame: the recorded observation (images and joints vary per frame)."""
    rng = np.random.default_rng(4)
    return [[Observation(
        images={camera: rng.integers(0, 256, (64, 64, 3), dtype=np.uint8)
                for camera in DEFAULT_SPEC.camera_names},
        joint_names=JOINTS,
        joint_positions=np.array(DEFAULT_HOME_POSITIONS) + rng.normal(0.0, 0.02, len(JOINTS)),
        instruction=task, stamp_s=0.1 * k) for k in range(length)]
        for task, _, length in EPISODES]


def _write_bag(path, observations, first_rows) -> None:
    """Frame k of an episode at its grid time: joints, images and the chunk's first row."""
    with BagWriter(path, message_types=MessageTypes()) as writer:
        for (task, first, _), frames, rows in zip(EPISODES, observations, first_rows):
            start_ns = T0_NS + first * STEP_NS
            writer.write('/vla/episode/start', 'std_msgs/msg/String', start_ns,
                         serialize_message(String(data=task)))
            for k, (observation, row) in enumerate(zip(frames, rows)):
                stamp_ns = start_ns + k * STEP_NS
                writer.write('/joint_states', 'sensor_msgs/msg/JointState', stamp_ns,
                             serialize_message(JointState(
                                 name=list(JOINTS),
                                 position=observation.joint_positions.tolist())))
                for camera, pixels in observation.images.items():
                    writer.write(f'/camera/{camera}/image_raw', 'sensor_msgs/msg/Image',
                                 stamp_ns, serialize_message(Image(
                                     height=64, width=64, encoding='rgb8', step=192,
                                     data=pixels.tobytes())))
                for controller, columns in (('arm_controller', slice(0, 6)),
                                            ('gripper_controller', slice(6, 7))):
                    writer.write(f'/{controller}/joint_trajectory',
                                 'trajectory_msgs/msg/JointTrajectory', stamp_ns,
                                 serialize_message(JointTrajectory(
                                     joint_names=list(JOINTS[columns]),
                                     points=[JointTrajectoryPoint(
                                         positions=row[columns].tolist(),
                                         time_from_start=Duration(nanosec=STEP_NS))])))
            writer.write('/vla/episode/stop', 'std_msgs/msg/String', stamp_ns,
                         serialize_message(String(data='succeeded')))


@pytest.fixture(scope='module')
def recorded(checkpoint, tmp_path_factory):
    """The bag, and the chunks the policy predicted for its frames, in frame order."""
    policy = load_policy('flow', checkpoint)
    observations = _observations()
    chunks = [[policy.infer(observation).positions for observation in frames]
              for frames in observations]
    bag = tmp_path_factory.mktemp('eval') / 'bag'
    _write_bag(bag, observations, [[chunk[0] for chunk in episode] for episode in chunks])
    return bag, chunks


def _expected_errors(chunks: list[np.ndarray]) -> np.ndarray:
    """Per joint: mean |row r of chunk k - recorded action k + r| over the episode's rows."""
    differences = [chunk[r] - chunks[k + r][0] for k, chunk in enumerate(chunks)
                   for r in range(min(len(chunk), len(chunks) - k))]
    return np.abs(np.array(differences))


def test_errors_compare_each_chunk_row_with_the_action_recorded_then(checkpoint, recorded):
    bag, chunks = recorded

    evaluation = evaluate_bag(bag, load_policy('flow', checkpoint))

    assert [(e.episode.instruction, len(e.recorded), len(e.chunks))
            for e in evaluation.episodes] == [('touch the red cube', 4, 4),
                                              ('touch the blue cube', 3, 3)]
    for episode, expected in zip(evaluation.episodes, chunks):
        np.testing.assert_allclose([c.positions for c in episode.chunks], expected, atol=1e-9)
        np.testing.assert_allclose(episode.recorded, [chunk[0] for chunk in expected],
                                   atol=1e-12)
        assert [error.first_step_mean_abs for error in episode.errors] == pytest.approx(
            [0.0] * len(JOINTS), abs=1e-9)
        np.testing.assert_allclose([error.mean_abs for error in episode.errors],
                                   _expected_errors(expected).mean(axis=0), atol=1e-9)
        np.testing.assert_allclose([error.max_abs for error in episode.errors],
                                   _expected_errors(expected).max(axis=0), atol=1e-9)
    both = np.concatenate([_expected_errors(expected) for expected in chunks])
    np.testing.assert_allclose([error.rmse for error in evaluation.errors],
                               np.sqrt((both ** 2).mean(axis=0)), atol=1e-9)
    assert all(error.mean_abs > 0.0 for error in evaluation.errors)


def test_stride_skips_frames_and_the_plot_is_a_png(checkpoint, recorded, tmp_path):
    bag, _ = recorded

    evaluation = evaluate_bag(bag, load_policy('flow', checkpoint), stride=2)
    plot_episode(evaluation.episodes[0], tmp_path / 'plot.png', title='episode 0')

    assert [chunk.frame_index for chunk in evaluation.episodes[0].chunks] == [0, 2]
    with PilImage.open(tmp_path / 'plot.png') as image:
        assert image.format == 'PNG' and image.width > 400 and image.height > 400


def test_eval_bag_verb_prints_the_table_and_writes_a_plot_per_episode(checkpoint, recorded,
                                                                     tmp_path, capsys):
    bag, _ = recorded

    code = main(['eval-bag', str(bag), '--policy', str(checkpoint), '--stride', '3',
                 '--plots', str(tmp_path / 'plots')])

    out = capsys.readouterr().out.splitlines()
    assert code == 0
    assert out[1] == "episode 0: 'touch the red cube' (succeeded), 4 frames, 2 chunks"
    assert out[2].split() == ['joint', 'MAE', 'first', 'MAE', 'RMSE', 'max']
    assert [line.split()[0] for line in out[3:10]] == list(JOINTS)
    assert sorted(path.name for path in (tmp_path / 'plots').iterdir()) == [
        'episode_000.png', 'episode_001.png']
