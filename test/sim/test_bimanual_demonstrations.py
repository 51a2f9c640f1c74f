# SPDX-License-Identifier: Apache-2.0
# Copyright 2026 The vla_ros authors
"""Bimanual demonstrations: recorded with the expert, written, read back as training samples."""

from __future__ import annotations

import dataclasses
from pathlib import Path

import numpy as np

from vla_ros.core.config import load_config
from vla_ros.sim.bimanual_demonstrations import record_bimanual_demonstrations
from vla_ros.sim.bimanual_tasks import BimanualTaskKind, make_bimanual_episode
from vla_ros.sim.demonstrations import DemonstrationDataset, load_demonstration
from vla_ros.sim.mujoco_sim import MujocoSim

REPO_ROOT = Path(__file__).resolve().parents[2]
IMAGE_PX = 32


def test_handover_demonstrations_round_trip_with_side_images_and_actions(tmp_path: Path) -> None:
    config = load_config(REPO_ROOT / 'config' / 'aloha.yaml')
    assert config.sim is not None
    cameras = [dataclasses.replace(camera, width=IMAGE_PX, height=IMAGE_PX)
               for camera in config.embodiment.cameras]

    paths = record_bimanual_demonstrations(
        sim_config=config.sim, task=BimanualTaskKind.HANDOVER, count=2, seed=1002,
        cameras=cameras, out_dir=tmp_path)

    loaded = [load_demonstration(path) for path in paths]
    assert [demo.episode for demo in loaded] == [
        make_bimanual_episode(BimanualTaskKind.HANDOVER, seed) for seed in (1002, 1003)]
    assert {demo.episode.side.value for demo in loaded} == {'left', 'right'}
    for demo in loaded:
        assert demo.success and demo.joint_names == config.sim.joint_names
        assert set(demo.images) == {camera.name for camera in cameras}
        for frames in demo.images.values():
            assert frames.shape == (demo.length, IMAGE_PX, IMAGE_PX, 3)
            assert np.abs(frames[0].astype(int) - frames[-1]).mean() > 1.0  # the arms moved
        giver = demo.joint_names.index(f'{demo.episode.side.other.value}_gripper')
        receiver = demo.joint_names.index(f'{demo.episode.side.value}_gripper')
        assert demo.actions[-1, giver] > 0.045 and demo.actions[-1, receiver] < 0.025  # m
    dataset = DemonstrationDataset(tmp_path, chunk_length=10)
    assert len(dataset) == sum(demo.length for demo in loaded)
    sample = dataset[5]
    np.testing.assert_array_equal(sample.actions, loaded[0].actions[5:15])
    assert sample.observation.instruction == loaded[0].episode.instruction


def test_a_cropped_camera_is_recorded_as_the_policy_sees_it(tmp_path: Path) -> None:
    # config/aloha_reach.yaml renders cam_high 160 x 160 and crops the cubes' 64 x 64 area.
    config = load_config(REPO_ROOT / 'config' / 'aloha_reach.yaml')
    assert config.sim is not None
    high = config.embodiment.cameras[0]
    assert high.name == 'cam_high' and (high.width, high.height) == (160, 160)
    assert high.crop is not None and (high.crop.x_offset, high.crop.y_offset) == (48, 50)

    [path] = record_bimanual_demonstrations(
        sim_config=config.sim, task=BimanualTaskKind.SIDE_REACH, count=1, seed=1004,
        cameras=config.embodiment.cameras, out_dir=tmp_path)

    demo = load_demonstration(path)
    assert demo.images['cam_high'].shape == (demo.length, 64, 64, 3)
    assert demo.images['cam_low'].shape == (demo.length, 64, 64, 3)
    with MujocoSim(config.sim) as sim:
        sim.reset(1004)
        whole = sim.render('cam_high', 160, 160)
    np.testing.assert_array_equal(demo.images['cam_high'][0], whole[50:114, 48:112])
    cubes = [whole[50:114, 48:112, channel].astype(int) - whole[50:114, 48:112].mean(axis=2)
             for channel in range(3)]
    assert all((cube > 60).sum() >= 16 for cube in cubes)  # each cube a patch of pixels
