# SPDX-License-Identifier: Apache-2.0
# Copyright 2026 The vla_ros authors
"""A policy trains on a dataset exported from a bag the way it trains on simulated demos."""

from __future__ import annotations

import numpy as np
import pytest
import synthetic_bags as synthetic

from vla_ros.data.lerobot_dataset import LeRobotTrainingDataset
from vla_ros.data.lerobot_export import export_lerobot, ExportOptions
from vla_ros.data.lerobot_layout import ImageStorage
from vla_ros.data.table_files import TableFormat
from vla_ros.policies.base import PolicySpec
from vla_ros.policies.flow.train import train, TrainingConfig
from vla_ros.policies.registry import load_policy


def test_flow_training_takes_an_exported_robot_dataset(tmp_path):
    bag = synthetic.write_bag(tmp_path / 'bag')
    export_lerobot([bag], tmp_path / 'dataset', ExportOptions(
        fps=10, image_storage=ImageStorage.IMAGE, table_format=TableFormat.NPZ))
    dataset = LeRobotTrainingDataset(tmp_path / 'dataset', chunk_length=4,
                                     successful_only=False)

    result = train(dataset, tmp_path / 'checkpoint', dt_s=dataset.episodes[0].dt_s,
                   config=TrainingConfig(steps=3, batch_size=8, warmup_steps=0, log_every=1),
                   progress=False)
    policy = load_policy('flow', result.checkpoint_dir)
    chunk = policy.infer(dataset[5].observation)

    assert policy.spec == PolicySpec(
        joint_names=('joint1', 'joint2', 'gripper_joint'), camera_names=('front', 'wrist'),
        image_height=8, image_width=8, chunk_length=4, dt_s=policy.spec.dt_s)
    assert policy.spec.dt_s == pytest.approx(0.1)
    states = np.array([dataset[i].observation.joint_positions for i in range(len(dataset))])
    np.testing.assert_allclose(policy.config.normalization.state.mean, states.mean(axis=0))
    assert len(result.losses) == 3 and np.all(np.isfinite(result.losses))
    assert chunk.positions.shape == (4, 3) and np.all(np.isfinite(chunk.positions))
