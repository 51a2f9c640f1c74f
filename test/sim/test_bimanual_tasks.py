# SPDX-License-Identifier: Apache-2.0
# Copyright 2026 The vla_ros authors
"""The ALOHA rig's tasks and scripted expert, in process on the real MuJoCo scene (no ROS)."""

from __future__ import annotations

from collections.abc import Iterator
import dataclasses
from pathlib import Path

import numpy as np
import pytest

from vla_ros.core.config import load_config
from vla_ros.core.errors import ConfigError
from vla_ros.sim import MujocoSim
from vla_ros.sim.bimanual_expert import BimanualExpert, BimanualPhase, run_bimanual_episode
from vla_ros.sim.bimanual_tasks import (
    BimanualEpisode,
    BimanualTaskKind,
    BimanualWatch,
    HANDOVER_HEIGHT_M,
    make_bimanual_episode,
    PHRASINGS,
    sample_bimanual_episodes,
    sample_task_episodes,
    Side,
)
from vla_ros.sim.tasks import Colour, CUBE_REST_Z_M, FailureReason, REACH_TOLERANCE_M, TaskKind

REPO_ROOT = Path(__file__).resolve().parents[2]
SEEDS = (0, 1, 2, 3)


@pytest.fixture(scope='module')
def aloha() -> Iterator[MujocoSim]:
    sim_config = load_config(REPO_ROOT / 'config' / 'aloha.yaml').sim
    assert sim_config is not None
    with MujocoSim(sim_config) as sim:
        yield sim


@pytest.mark.parametrize('task', list(BimanualTaskKind), ids=lambda task: task.value)
def test_instructions_name_the_colour_and_side_in_all_five_phrasings(
        task: BimanualTaskKind) -> None:
    episodes = sample_bimanual_episodes(task, 80, seed=0)

    assert episodes == sample_bimanual_episodes(task, 80, seed=0)
    assert [e.seed for e in episodes] == list(range(80))
    for episode in episodes:
        words = episode.instruction.split()
        assert episode.colour.value in words and episode.side.value in words, episode
    assert {e.colour for e in episodes} == set(Colour)
    assert {e.side for e in episodes} == set(Side)
    used = {template for e in episodes for template in PHRASINGS[task]
            if template.format(colour=e.colour.value, side=e.side.value) == e.instruction}
    assert used == set(PHRASINGS[task])


def test_task_names_pick_the_rig() -> None:
    assert isinstance(sample_task_episodes('handover', 1, 5)[0], BimanualEpisode)
    assert sample_task_episodes('lift', 1, 5)[0].task is TaskKind.LIFT
    with pytest.raises(ConfigError, match=r"^task 'juggle': expected one of \['handover', "):
        sample_task_episodes('juggle', 1, 0)


@pytest.mark.parametrize('seed', SEEDS)
def test_the_expert_touches_the_named_cube_with_the_named_gripper_only(
        aloha: MujocoSim, seed: int) -> None:
    episode = make_bimanual_episode(BimanualTaskKind.SIDE_REACH, seed)

    result = run_bimanual_episode(aloha, episode)

    assert result.success, episode
    assert episode.reach_distance_m(aloha, episode.side) <= REACH_TOLERANCE_M
    assert episode.reach_distance_m(aloha, episode.side.other) > 0.1  # the other arm stayed
    others = [c.cube_name for c in Colour if c is not episode.colour]
    for name in others:  # the touched cube is the named one, not a neighbour
        distance_m = np.linalg.norm(aloha.frame_position(episode.side.frame)
                                    - aloha.object_positions()[name])
        assert distance_m > 2 * REACH_TOLERANCE_M, (name, distance_m)


@pytest.mark.parametrize('seed', SEEDS)
def test_the_expert_hands_the_cube_over_to_the_named_side(aloha: MujocoSim, seed: int) -> None:
    episode = make_bimanual_episode(BimanualTaskKind.HANDOVER, seed)

    result = run_bimanual_episode(aloha, episode)

    assert result.success, episode
    cube = aloha.object_positions()[episode.cube_name]
    assert cube[2] - CUBE_REST_Z_M > HANDOVER_HEIGHT_M
    receiver = np.linalg.norm(aloha.frame_position(episode.side.frame) - cube)
    giver = np.linalg.norm(aloha.frame_position(episode.side.other.frame) - cube)
    assert receiver < 0.02 < 0.05 < giver, (receiver, giver)


def step_expert(sim: MujocoSim, expert: BimanualExpert) -> None:
    """One policy step: the servo targets ramp to the expert's in five control periods."""
    start = sim.position_targets()
    action = expert.act(sim)
    for fraction in np.linspace(0.2, 1.0, 5):
        sim.set_position_targets(start + fraction * (action - start))
        sim.step(0.02)


def test_the_handover_is_not_done_while_the_giver_still_holds_the_cube(aloha: MujocoSim) -> None:
    episode = make_bimanual_episode(BimanualTaskKind.HANDOVER, 7)
    aloha.reset(episode.seed)
    expert = BimanualExpert(aloha.config, episode)
    watch = BimanualWatch(episode)
    while expert.phase is not BimanualPhase.RELEASE:  # until both grippers closed on the cube
        step_expert(aloha, expert)
        assert not watch.observe(aloha) and aloha.time_s < 15.0
    cube = aloha.object_positions()[episode.cube_name]

    assert cube[2] - CUBE_REST_Z_M > HANDOVER_HEIGHT_M  # up in the air, held by both
    assert watch.failure_reason() is FailureReason.NOT_HANDED_OVER
    while aloha.time_s < 15.0 and not watch.observe(aloha):
        step_expert(aloha, expert)
    assert watch.failure_reason() is None  # the giver let go: done


def test_failure_reasons_say_what_went_wrong(aloha: MujocoSim) -> None:
    reach = make_bimanual_episode(BimanualTaskKind.SIDE_REACH, 2)
    assert run_bimanual_episode(aloha, reach).success
    mirrored = dataclasses.replace(reach, side=reach.side.other)
    watch = BimanualWatch(mirrored)
    assert not watch.observe(aloha)
    assert watch.failure_reason() is FailureReason.WRONG_GRIPPER

    aloha.reset(3)
    handover = BimanualWatch(make_bimanual_episode(BimanualTaskKind.HANDOVER, 3))
    assert not handover.observe(aloha)
    assert handover.failure_reason() is FailureReason.NEVER_GRASPED
    untouched = BimanualWatch(make_bimanual_episode(BimanualTaskKind.SIDE_REACH, 3))
    assert not untouched.observe(aloha)
    assert untouched.failure_reason() is FailureReason.NOT_REACHED


def _drive(sim: MujocoSim, targets: np.ndarray) -> None:
    """One policy step towards ``targets``, ramped as ``step_expert`` ramps the expert's."""
    start = sim.position_targets()
    for fraction in np.linspace(0.2, 1.0, 5):
        sim.set_position_targets(start + fraction * (targets - start))
        sim.step(0.02)


def test_relabelling_steps_from_the_driven_targets_and_restarts_a_drifted_descent(
        aloha: MujocoSim) -> None:
    episode = make_bimanual_episode(BimanualTaskKind.SIDE_REACH, 3)
    aloha.reset(episode.seed)
    expert = BimanualExpert(aloha.config, episode)
    with pytest.raises(RuntimeError, match='call act first'):
        expert.continue_from(aloha.position_targets())
    held = aloha.position_targets()
    first = expert.act(aloha)

    # A driver that holds the start pose: every label is the same first step from it.
    for _ in range(3):
        expert.continue_from(held)
        _drive(aloha, held)
        np.testing.assert_allclose(expert.act(aloha), first, atol=1e-6)
    with pytest.raises(ConfigError, match=r'targets \(13,\), expected \(14,\)'):
        expert.continue_from(held[:-1])

    # The expert itself down to the descent; then the driver swings the named arm's waist away.
    expert = BimanualExpert(aloha.config, episode)
    aloha.reset(episode.seed)
    while expert.phase is not BimanualPhase.DESCEND:
        step_expert(aloha, expert)
        assert aloha.time_s < 10.0
    swung = aloha.position_targets()
    swung[list(aloha.joint_names).index(f'{episode.side.value}_waist')] += 0.4
    for _ in range(3):
        expert.continue_from(swung)
        _drive(aloha, swung)
    label = expert.act(aloha)
    assert expert.phase is BimanualPhase.APPROACH
    assert np.all(np.abs(label - swung) <= 0.15 + 1e-9)  # one step from what was sent


def test_the_handover_is_not_relabelled(aloha: MujocoSim) -> None:
    episode = make_bimanual_episode(BimanualTaskKind.HANDOVER, 3)
    aloha.reset(episode.seed)
    expert = BimanualExpert(aloha.config, episode)
    expert.act(aloha)
    with pytest.raises(ConfigError, match='relabels side_reach, not handover'):
        expert.continue_from(aloha.position_targets())
