# SPDX-License-Identifier: Apache-2.0
# Copyright 2026 The vla_ros authors
"""Humanoid hand-reach demonstrations: recorded, commanded joints only, read back; DAgger."""

from __future__ import annotations

import dataclasses
from pathlib import Path

import numpy as np
import pytest

from vla_ros.core.config import EmbodimentConfig, load_config
from vla_ros.core.errors import ConfigError
from vla_ros.core.policy import PolicySpec
from vla_ros.core.sim_config import SimConfig
from vla_ros.core.types import ActionChunk, Observation
from vla_ros.sim import MujocoSim
from vla_ros.sim.demonstrations import (
    Demonstration,
    DemonstrationDataset,
    load_demonstration,
    save_demonstration,
)
from vla_ros.sim.humanoid_demonstrations import (
    record_hand_reach_demonstrations,
    record_hand_reach_episode,
)
from vla_ros.sim.humanoid_expert import ARM_STEP_RAD
from vla_ros.sim.humanoid_tasks import make_hand_reach_episode

REPO_ROOT = Path(__file__).resolve().parents[2]
IMAGE_PX = 32


def _g1() -> tuple[SimConfig, EmbodimentConfig, list[str]]:
    """config/g1.yaml's sim section, embodiment and commanded joints (in embodiment order)."""
    config = load_config(REPO_ROOT / 'config' / 'g1.yaml')
    assert config.sim is not None
    embodiment = config.embodiment
    commanded = {joint for joints in embodiment.controllers.values() for joint in joints}
    return config.sim, embodiment, [joint for joint in embodiment.joints if joint in commanded]


def test_hand_reach_demonstrations_keep_the_commanded_joints_and_move_the_named_arm(
        tmp_path: Path) -> None:
    sim_config, embodiment, joint_names = _g1()
    cameras = [dataclasses.replace(camera, width=IMAGE_PX, height=IMAGE_PX)
               for camera in embodiment.cameras]

    paths = record_hand_reach_demonstrations(
        sim_config=sim_config, controllers=embodiment.controllers, joint_names=joint_names,
        count=2, seed=1000, cameras=cameras, out_dir=tmp_path)

    loaded = [load_demonstration(path) for path in paths]
    for seed, demo in zip((1000, 1001), loaded, strict=True):
        episode = make_hand_reach_episode(seed)
        assert demo.success and demo.episode.seed == seed
        assert demo.episode.instruction == episode.instruction
        assert demo.episode.colour is episode.colour
        assert demo.joint_names == tuple(joint_names) and len(joint_names) == 31
        assert not any('hip' in name or 'knee' in name for name in demo.joint_names)
        assert set(demo.images) == {camera.name for camera in cameras}
        for frames in demo.images.values():
            assert frames.shape == (demo.length, IMAGE_PX, IMAGE_PX, 3)
        arm = [demo.joint_names.index(joint)
               for joint in embodiment.controllers[f'{episode.hand.value}_arm_controller']]
        assert np.abs(demo.actions[-1, arm] - demo.joint_positions[0, arm]).max() > 0.1  # rad
    dataset = DemonstrationDataset(tmp_path, chunk_length=10)
    assert len(dataset) == sum(demo.length for demo in loaded)
    sample = dataset[2]
    np.testing.assert_array_equal(sample.actions[:3], loaded[0].actions[2:5])


def test_hand_reach_demonstration_of_an_unsimulated_joint_is_a_config_error() -> None:
    sim_config, embodiment, _ = _g1()
    with MujocoSim(sim_config) as sim, pytest.raises(ConfigError, match='head_pan_joint'):
        record_hand_reach_episode(sim, make_hand_reach_episode(0),
                                  controllers=embodiment.controllers,
                                  joint_names=['waist_yaw_joint', 'head_pan_joint'], cameras=[])


def test_action_noise_moves_the_robot_off_the_path_and_records_the_experts_targets() -> None:
    sim_config, embodiment, joint_names = _g1()
    fingers = [joint_names.index(joint) for name, joints in embodiment.controllers.items()
               if 'hand' in name for joint in joints]
    episode = make_hand_reach_episode(1000)

    def record(noise_rad: float) -> Demonstration:
        with MujocoSim(sim_config) as sim:
            return record_hand_reach_episode(sim, episode, controllers=embodiment.controllers,
                                             joint_names=joint_names, cameras=[],
                                             action_noise_rad=noise_rad)

    clean, noisy, again = record(0.0), record(0.03), record(0.03)

    assert clean.success and noisy.success
    np.testing.assert_array_equal(noisy.joint_positions, again.joint_positions)  # seeded
    steps = min(clean.length, noisy.length)
    assert np.abs(noisy.joint_positions[1:steps] - clean.joint_positions[1:steps]).max() > 0.03
    # The expert holds the fingers still: the executed noise moves them, its labels do not.
    assert np.ptp(noisy.joint_positions[:, fingers], axis=0).max() > 0.05
    assert np.ptp(noisy.actions[:, fingers], axis=0).max() == 0.0
    with MujocoSim(sim_config) as sim, pytest.raises(ConfigError, match='action noise'):
        record_hand_reach_episode(sim, episode, controllers=embodiment.controllers,
                                  joint_names=joint_names, cameras=[], action_noise_rad=-0.1)


class _HoldStill:
    """A driver that outputs the observed positions for every row: the robot stays put."""

    def __init__(self, joint_names: list[str], camera_names: tuple[str, ...]) -> None:
        self.spec = PolicySpec(joint_names=tuple(joint_names), camera_names=camera_names,
                               image_height=IMAGE_PX, image_width=IMAGE_PX, chunk_length=10,
                               dt_s=0.1)
        self.calls = 0

    def infer(self, observation: Observation) -> ActionChunk:
        self.calls += 1
        return ActionChunk(joint_names=observation.joint_names,
                           positions=np.tile(observation.joint_positions, (10, 1)), dt_s=0.1)


def test_a_driven_episode_is_labelled_from_where_the_driver_left_the_robot(
        tmp_path: Path) -> None:
    sim_config, embodiment, joint_names = _g1()
    cameras = [dataclasses.replace(camera, width=IMAGE_PX, height=IMAGE_PX)
               for camera in embodiment.cameras]
    episode = make_hand_reach_episode(1000)
    arm = [joint_names.index(joint)
           for joint in embodiment.controllers[f'{episode.hand.value}_arm_controller']]
    driver = _HoldStill(joint_names, tuple(camera.name for camera in cameras))

    with MujocoSim(sim_config) as sim:
        held = record_hand_reach_episode(sim, episode, controllers=embodiment.controllers,
                                         joint_names=joint_names, cameras=cameras,
                                         driver=driver, horizon=5)
        expert = record_hand_reach_episode(sim, episode, controllers=embodiment.controllers,
                                           joint_names=joint_names, cameras=[])

    # The driver held the robot for the whole budget, inferring every 5 steps; the expert alone
    # reaches in a few steps, its arm moving far from the start.
    assert held.relabelled and not held.success and held.length == 50 and driver.calls == 10
    assert np.abs(held.joint_positions[:, arm] - held.joint_positions[0, arm]).max() < 0.02
    assert expert.success and not expert.relabelled
    assert np.abs(expert.actions[-1, arm] - expert.joint_positions[0, arm]).max() > 0.3
    # Each label is the expert's next step from the held pose, not its own path's next point.
    step = np.abs(held.actions[:, arm] - held.joint_positions[:, arm]).max()
    assert 0.05 < step <= ARM_STEP_RAD + 0.02
    # Kept for training although the driver failed.
    save_demonstration(held, tmp_path / 'episode_000000.npz')
    assert load_demonstration(tmp_path / 'episode_000000.npz').relabelled
    assert len(DemonstrationDataset(tmp_path, chunk_length=10)) == 50


def test_a_driver_that_does_not_fit_the_episode_is_a_config_error() -> None:
    sim_config, embodiment, joint_names = _g1()
    episode = make_hand_reach_episode(1000)
    for driver, kwargs, message in (
            (_HoldStill(joint_names[:-1], ()), {}, 'the driver outputs'),
            (_HoldStill(joint_names, ('belly_camera',)), {}, "cameras \\['belly_camera'\\]"),
            (_HoldStill(joint_names, ()), {'action_noise_rad': 0.03}, 'driver policy and action'),
            (_HoldStill(joint_names, ()), {'horizon': 0}, 'horizon 0')):
        with MujocoSim(sim_config) as sim, pytest.raises(ConfigError, match=message):
            record_hand_reach_episode(sim, episode, controllers=embodiment.controllers,
                                      joint_names=joint_names, cameras=[], driver=driver,
                                      **kwargs)
