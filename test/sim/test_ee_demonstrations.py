# SPDX-License-Identifier: Apache-2.0
# Copyright 2026 The vla_ros authors
"""The expert in end-effector deltas, driven closed loop through the action-space layer."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import numpy as np
from numpy.testing import assert_allclose
import pytest
import yaml

from vla_ros.core.action_space_config import parse_action_space
from vla_ros.core.config import load_config
from vla_ros.core.types import ActionChunk, JointTrajectoryCommand, Observation
from vla_ros.execution.action_space_policy import ActionSpacePolicy
from vla_ros.execution.action_spaces import ActionSpaceConverter
from vla_ros.policies.base import PolicySpec
from vla_ros.sim import TabletopSim, TrajectoryFollower
from vla_ros.sim.demonstrations import (
    DemonstrationDataset,
    load_demonstration,
    record_demonstrations,
    record_episode,
)
from vla_ros.sim.ee_demonstrations import (
    EeDeltaExpert,
    ObservedEeChunks,
    record_ee_demonstrations,
    SiteKinematics,
    TABLETOP_EE_ACTION_SPACE,
    TABLETOP_EE_OBSERVED_ACTION_SPACE,
    to_ee_delta_demonstration,
)
from vla_ros.sim.expert import max_steps_for, POLICY_DT_S, ScriptedExpert
from vla_ros.sim.tasks import Episode, make_episode, TaskKind

ROOT = Path(__file__).resolve().parents[2]
SCENE_PATH = ROOT / 'urdf' / 'tabletop_scene.xml'
URDF_PATH = ROOT / 'urdf' / 'tabletop_arm.urdf'
CONTROL_SUBSTEPS = 5


@pytest.fixture(scope='module')
def sim() -> Iterator[TabletopSim]:
    with TabletopSim(SCENE_PATH) as scene:
        yield scene


@pytest.fixture(scope='module')
def converter() -> ActionSpaceConverter:
    controllers = load_config(ROOT / 'config' / 'tabletop_arm.yaml').embodiment.controllers
    config = parse_action_space(TABLETOP_EE_ACTION_SPACE, controllers=controllers)
    return ActionSpaceConverter(config, urdf_path=URDF_PATH)


@dataclass
class ExpertEeDeltaPolicy:
    """A scripted policy that outputs the expert's one-row end-effector chunk (like OpenVLA).

    It reads the cube from the scene (privileged), the joints from the observation's scene.
    """

    expert: EeDeltaExpert
    scene: TabletopSim

    @property
    def spec(self) -> PolicySpec:
        """One row per chunk over the seven commanded joints."""
        return PolicySpec(joint_names=self.scene.joint_names, camera_names=(), image_height=64,
                          image_width=64, chunk_length=1, dt_s=POLICY_DT_S)

    def infer(self, observation: Observation) -> ActionChunk:
        """The next raw chunk."""
        action = self.expert.act(self.scene)
        return ActionChunk(self.scene.joint_names, action[np.newaxis], POLICY_DT_S)


def run_ee_episode(sim: TabletopSim, episode: Episode, converter: ActionSpaceConverter
                   ) -> tuple[bool, list[int]]:
    """Reset, then infer, convert and follow one-row chunks until success or the budget.

    Returns:
        Whether the task succeeded, and the unreachable steps reported per chunk.
    """
    sim.reset(episode.seed)
    inner = ExpertEeDeltaPolicy(EeDeltaExpert(SCENE_PATH, episode), sim)
    policy = ActionSpacePolicy(inner, converter)
    follower = TrajectoryFollower(sim.joint_names, sim.joint_positions())
    unreachable = []
    for _ in range(max_steps_for(episode.task)):
        observation = Observation(images={}, joint_names=sim.joint_names,
                                  joint_positions=sim.joint_positions(),
                                  instruction=episode.instruction, stamp_s=sim.time_s)
        chunk = policy.infer(observation)
        unreachable.append(policy.last_report.unreachable_steps)
        follower.accept(JointTrajectoryCommand(chunk.joint_names, np.array([chunk.dt_s]),
                                               chunk.positions), now_s=sim.time_s)
        for _ in range(CONTROL_SUBSTEPS):
            sim.set_position_targets(follower.sample(sim.time_s))
            sim.step(POLICY_DT_S / CONTROL_SUBSTEPS)
        if episode.is_success(sim):
            return True, unreachable
    return False, unreachable


@pytest.mark.parametrize(('task', 'seed'), [
    (TaskKind.REACH, 3), (TaskKind.REACH, 17), (TaskKind.LIFT, 5),
], ids=['reach_seed3', 'reach_seed17', 'lift_seed5'])
def test_end_effector_deltas_reach_the_instructed_cube_closed_loop(
        sim: TabletopSim, converter: ActionSpaceConverter, task: TaskKind, seed: int) -> None:
    episode = make_episode(task, seed)

    success, unreachable = run_ee_episode(sim, episode, converter)

    assert success, f'{episode.instruction!r} (seed {seed}) failed'
    assert sum(unreachable) == 0


def test_converted_deltas_are_the_experts_joint_targets(
        sim: TabletopSim, converter: ActionSpaceConverter) -> None:
    episode = make_episode(TaskKind.REACH, 8)
    demonstration = record_episode(sim, SCENE_PATH, episode, cameras=())
    ee_demonstration = to_ee_delta_demonstration(demonstration, SiteKinematics(SCENE_PATH))

    for step in range(0, demonstration.length, 3):
        converted = converter.convert(ee_demonstration.actions[step:step + 1],
                                      demonstration.joint_positions[step], dt_s=POLICY_DT_S)
        assert_allclose(converted.positions[0], demonstration.actions[step], atol=1e-5,
                        err_msg=f'step {step}')
        assert converted.report.unreachable_steps == 0


def test_ee_actions_are_base_frame_deltas_and_a_normalised_gripper(sim: TabletopSim) -> None:
    episode = make_episode(TaskKind.LIFT, 2)
    sim.reset(episode.seed)
    expert, twin = EeDeltaExpert(SCENE_PATH, episode), ScriptedExpert(SCENE_PATH, episode)
    kinematics = SiteKinematics(SCENE_PATH)
    start_m = sim.end_effector_position()

    action, joint_target = expert.act(sim), twin.act(sim)

    target_m, _ = kinematics.pose(joint_target)
    assert_allclose(action[:3], target_m - start_m, atol=1e-12)
    assert action[6] == pytest.approx(joint_target[6] / 0.04)
    assert 0.0 <= action[6] <= 1.0


def test_recorded_ee_dataset_carries_its_declaration(tmp_path: Path) -> None:
    paths = record_ee_demonstrations(mjcf_path=SCENE_PATH, task=TaskKind.REACH, count=1, seed=4,
                                     cameras=(), out_dir=tmp_path)

    demonstration = load_demonstration(paths[0])
    declaration = yaml.safe_load((tmp_path / 'action_space.yaml').read_text())['action_space']
    assert declaration == TABLETOP_EE_ACTION_SPACE
    assert demonstration.actions.shape == (demonstration.length, 7)
    steps_m = np.linalg.norm(demonstration.actions[:, :3], axis=1)
    assert 0.0 < steps_m.max() <= 0.06


def test_observed_chunks_convert_back_to_the_experts_joint_targets(
        sim: TabletopSim, tmp_path: Path) -> None:
    controllers = load_config(ROOT / 'config' / 'tabletop_arm.yaml').embodiment.controllers
    observed_converter = ActionSpaceConverter(
        parse_action_space(TABLETOP_EE_OBSERVED_ACTION_SPACE, controllers=controllers),
        urdf_path=URDF_PATH)
    record_demonstrations(mjcf_path=SCENE_PATH, task=TaskKind.REACH, count=1, seed=8,
                          cameras=(), out_dir=tmp_path)
    joint_samples = DemonstrationDataset(tmp_path, chunk_length=4)
    samples = ObservedEeChunks(joint_samples, SiteKinematics(SCENE_PATH))

    for index in range(0, len(samples), 3):
        sample, joint_sample = samples[index], joint_samples[index]
        assert_allclose(sample.observation.joint_positions,
                        joint_sample.observation.joint_positions)
        converted = observed_converter.convert(
            sample.actions, joint_sample.observation.joint_positions, dt_s=POLICY_DT_S)
        assert_allclose(converted.positions, joint_sample.actions, atol=1e-5,
                        err_msg=f'sample {index}')
    # Every row counts from the observation: a later row is not the step after the one before.
    moving = samples[0].actions
    assert np.linalg.norm(moving[-1, :3]) > np.linalg.norm(moving[0, :3]) + 0.01
