# SPDX-License-Identifier: Apache-2.0
# Copyright 2026 The vla_ros authors
"""Deliberate missed grasps and the expert's recorded recovery from them (MuJoCo, no ROS)."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import numpy as np
import pytest

from vla_ros.core.errors import ConfigError
from vla_ros.sim import TabletopSim
from vla_ros.sim.demonstrations import record_demonstrations, record_episode
from vla_ros.sim.missed_grasp import (
    ABOVE_RANGE_M,
    BESIDE_RANGE_M,
    MissedGrasp,
    NEAR_RANGE_M,
    RAISE_STEPS_RANGE,
    run_missed_grasp,
)
from vla_ros.sim.tasks import CUBE_REST_Z_M, make_episode, TaskKind

ROOT = Path(__file__).resolve().parents[2]
SCENE_PATH = ROOT / 'urdf' / 'tabletop_scene.xml'
#: A closed gripper holding the 4 cm cube stays near 2 cm per finger; an empty one closes to 0.
EMPTY_GRIPPER_M = 0.005


@pytest.fixture(scope='module')
def sim() -> Iterator[TabletopSim]:
    with TabletopSim(SCENE_PATH) as scene:
        yield scene


def test_draws_are_per_seed_and_within_their_ranges() -> None:
    draws = [MissedGrasp.draw(seed) for seed in range(200)]
    again = MissedGrasp.draw(17)
    assert np.array_equal(again.offset, draws[17].offset)
    assert again.raise_steps == draws[17].raise_steps
    above = [miss for miss in draws if miss.offset[2] > 0.0]
    beside = [miss for miss in draws if miss.offset[2] == 0.0]
    assert above and beside, 'both kinds of miss are drawn'
    for miss in above:
        assert ABOVE_RANGE_M[0] <= miss.offset[2] <= ABOVE_RANGE_M[1]
        assert not miss.offset[:2].any()
    for miss in beside:
        assert BESIDE_RANGE_M[0] <= np.linalg.norm(miss.offset[:2]) <= BESIDE_RANGE_M[1]
    assert {miss.raise_steps for miss in draws} == set(
        range(RAISE_STEPS_RANGE[0], RAISE_STEPS_RANGE[1] + 1))


@pytest.mark.parametrize('seed', [5000, 5001, 5002, 5003])
def test_the_miss_leaves_an_empty_closed_gripper_and_the_cube_down(sim: TabletopSim,
                                                                    seed: int) -> None:
    episode = make_episode(TaskKind.LIFT, seed)
    run_missed_grasp(sim, SCENE_PATH, episode, MissedGrasp.draw(seed))
    gripper = sim.joint_positions()[6]
    cube_z = sim.object_positions()[episode.cube_name][2]
    assert gripper < EMPTY_GRIPPER_M, f'the gripper closed on something: {gripper:.4f} m'
    assert cube_z < CUBE_REST_Z_M + 0.01, f'the miss lifted the cube to {cube_z:.3f} m'
    assert not episode.is_success(sim)


@pytest.mark.parametrize('seed', [5000, 5004])
def test_the_recorded_recovery_reopens_then_lifts(sim: TabletopSim, seed: int) -> None:
    episode = make_episode(TaskKind.LIFT, seed)
    demonstration = record_episode(sim, SCENE_PATH, episode, [], missed_grasp=True)
    assert demonstration.success
    gripper_measured = demonstration.joint_positions[:, 6]
    gripper_command = demonstration.actions[:, 6]
    assert gripper_measured[0] < EMPTY_GRIPPER_M, 'recording starts from the miss'
    opened = int(np.argmax(gripper_command >= 0.029))
    assert gripper_command[opened] >= 0.029, 'the expert reopens the gripper'
    assert (gripper_command[opened:] <= 0.0).any(), 'and closes it again on the cube'
    assert sim.object_positions()[episode.cube_name][2] > CUBE_REST_Z_M + 0.05


def test_the_plain_recording_is_unchanged_by_the_option(sim: TabletopSim) -> None:
    episode = make_episode(TaskKind.LIFT, 5000)
    plain = record_episode(sim, SCENE_PATH, episode, [])
    again = record_episode(sim, SCENE_PATH, episode, [], missed_grasp=False)
    recovery = record_episode(sim, SCENE_PATH, episode, [], missed_grasp=True)
    assert np.array_equal(plain.actions, again.actions)
    assert plain.joint_positions[0, 6] > 0.03, 'a plain episode starts open, at the ready pose'
    assert not np.array_equal(plain.joint_positions[0], recovery.joint_positions[0])


def test_reach_has_no_grasp_to_miss(tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match='lift, place'):
        record_demonstrations(mjcf_path=SCENE_PATH, task=TaskKind.REACH, count=1, seed=0,
                              cameras=[], out_dir=tmp_path, missed_grasp=True)
    with TabletopSim(SCENE_PATH) as scene, pytest.raises(ConfigError, match='reach'):
        run_missed_grasp(scene, SCENE_PATH, make_episode(TaskKind.REACH, 0),
                         MissedGrasp.draw(0))


def test_near_miss_draws_are_per_seed_open_and_within_their_range() -> None:
    draws = [MissedGrasp.draw_near(seed) for seed in range(100)]
    assert np.array_equal(MissedGrasp.draw_near(17).offset, draws[17].offset)
    for miss in draws:
        assert not miss.closes and miss.offset[2] == 0.0
        assert NEAR_RANGE_M[0] <= np.linalg.norm(miss.offset[:2]) <= NEAR_RANGE_M[1]
    assert all(MissedGrasp.draw(seed).closes for seed in range(20))


@pytest.mark.parametrize('seed', [6000, 6001, 6002])
def test_a_near_miss_ends_open_off_centre_and_the_recording_lifts(sim: TabletopSim,
                                                                   seed: int) -> None:
    episode = make_episode(TaskKind.LIFT, seed)
    run_missed_grasp(sim, SCENE_PATH, episode, MissedGrasp.draw_near(seed))
    cube = sim.object_positions()[episode.cube_name]
    off_centre_m = float(np.linalg.norm(sim.end_effector_position()[:2] - cube[:2]))
    assert sim.joint_positions()[6] > 0.02, 'a near miss does not close'
    assert off_centre_m > 0.01, f'the descent ended {off_centre_m:.3f} m from the centre'
    assert cube[2] < CUBE_REST_Z_M + 0.01 and not episode.is_success(sim)

    demonstration = record_episode(sim, SCENE_PATH, episode, [], near_miss=True)
    assert demonstration.success
    assert demonstration.joint_positions[0, 6] > 0.02, 'recording starts from the open miss'
    with pytest.raises(ConfigError, match='not both'):
        record_episode(sim, SCENE_PATH, episode, [], missed_grasp=True, near_miss=True)
