# SPDX-License-Identifier: Apache-2.0
# Copyright 2026 The vla_ros authors
"""Tabletop tasks and the scripted expert, in MuJoCo without ROS."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
from numpy.typing import NDArray
import pytest

from vla_ros.core.errors import ConfigError
from vla_ros.sim import CUBE_NAMES, TabletopSim
from vla_ros.sim.expert import (
    ARM_STEP_RAD,
    ExpertPhase,
    GRIPPER_STEP_M,
    JOINT_MARGIN_RAD,
    max_steps_for,
    run_expert_episode,
    ScriptedExpert,
)
from vla_ros.sim.tasks import (
    Colour,
    Episode,
    EpisodeWatch,
    FailureReason,
    make_episode,
    PHRASINGS,
    sample_episodes,
    TaskKind,
)

SCENE_PATH = Path(__file__).resolve().parents[2] / 'urdf' / 'tabletop_scene.xml'
RESTING = {'red_cube': (0.30, -0.10, 0.02), 'green_cube': (0.35, 0.0, 0.02),
           'blue_cube': (0.30, 0.10, 0.02)}


@dataclass(frozen=True)
class ConstructedScene:
    """A scene state written down by hand: cube centres and the ee_site position."""

    end_effector_m: tuple[float, float, float]
    cubes_m: dict[str, tuple[float, float, float]] = field(default_factory=lambda: RESTING)

    def object_positions(self) -> dict[str, NDArray[np.float64]]:
        """Cube name -> (3,) centre, m."""
        return {name: np.array(xyz) for name, xyz in self.cubes_m.items()}

    def end_effector_position(self) -> NDArray[np.float64]:
        """(3,) ee_site position, m."""
        return np.array(self.end_effector_m)


def lifted(name: str, z_m: float) -> dict[str, tuple[float, float, float]]:
    x_m, y_m, _ = RESTING[name]
    return {**RESTING, name: (x_m, y_m, z_m)}


@pytest.fixture(scope='module')
def sim() -> Iterator[TabletopSim]:
    with TabletopSim(SCENE_PATH) as scene:
        yield scene


@pytest.mark.parametrize(('task', 'scene', 'expected'), [
    (TaskKind.REACH, ConstructedScene((0.30, -0.10, 0.04)), True),
    (TaskKind.REACH, ConstructedScene((0.30, -0.10, 0.069)), True),
    (TaskKind.REACH, ConstructedScene((0.30, -0.079, 0.04)), True),
    (TaskKind.REACH, ConstructedScene((0.30, -0.10, 0.071)), False),
    (TaskKind.REACH, ConstructedScene((0.30, -0.069, 0.04)), False),
    (TaskKind.REACH, ConstructedScene((0.30, 0.10, 0.04)), False),
    (TaskKind.LIFT, ConstructedScene((0.30, -0.10, 0.02)), False),
    (TaskKind.LIFT, ConstructedScene((0.30, -0.10, 0.3), lifted('red_cube', 0.069)), False),
    (TaskKind.LIFT, ConstructedScene((0.30, -0.10, 0.3), lifted('red_cube', 0.071)), True),
    (TaskKind.LIFT, ConstructedScene((0.30, 0.10, 0.3), lifted('blue_cube', 0.2)), False),
], ids=['reach_on_top', 'reach_2.9cm_above', 'reach_2.1cm_aside', 'reach_3.1cm_above',
        'reach_3.1cm_aside', 'reach_other_cube', 'lift_resting', 'lift_4.9cm', 'lift_5.1cm',
        'lift_other_cube'])
def test_success_predicates_on_constructed_states(task: TaskKind, scene: ConstructedScene,
                                                  expected: bool) -> None:
    episode = Episode(task=task, colour=Colour.RED, instruction='do it', seed=0)
    assert episode.is_success(scene) is expected


@pytest.mark.parametrize(('task', 'red_heights_m', 'expected'), [
    (TaskKind.LIFT, (0.02, 0.03, 0.02), FailureReason.NEVER_GRASPED),
    (TaskKind.LIFT, (0.02, 0.06, 0.02), FailureReason.DROPPED),
    (TaskKind.LIFT, (0.02, 0.05, 0.06), FailureReason.NOT_HIGH_ENOUGH),
    (TaskKind.LIFT, (0.02, 0.08, 0.02), None),
    (TaskKind.REACH, (0.02, 0.02), FailureReason.NOT_REACHED),
], ids=['lift_never_left_the_table', 'lift_raised_then_dropped', 'lift_held_too_low',
        'lift_succeeded_then_dropped', 'reach_missed'])
def test_episode_watch_names_why_an_episode_failed(
        task: TaskKind, red_heights_m: tuple[float, ...],
        expected: FailureReason | None) -> None:
    watch = EpisodeWatch(Episode(task=task, colour=Colour.RED, instruction='do it', seed=0))
    for z_m in red_heights_m:
        watch.observe(ConstructedScene((0.30, 0.10, 0.3), lifted('red_cube', z_m)))
    assert watch.failure_reason() is expected
    assert watch.max_height_m == pytest.approx(max(red_heights_m) - 0.02)
    assert watch.last_height_m == pytest.approx(red_heights_m[-1] - 0.02)


def test_episode_watch_tells_a_lifted_wrong_cube_apart() -> None:
    watch = EpisodeWatch(Episode(task=TaskKind.LIFT, colour=Colour.RED, instruction='x', seed=0))
    watch.observe(ConstructedScene((0.30, 0.10, 0.3), lifted('blue_cube', 0.12)))
    assert watch.failure_reason() is FailureReason.WRONG_CUBE


@pytest.mark.parametrize('task', list(TaskKind), ids=lambda task: task.value)
def test_instructions_vary_with_the_seed_and_name_the_cube(task: TaskKind) -> None:
    episodes = sample_episodes(task, 60, seed=0)
    assert [episode.seed for episode in episodes] == list(range(60))
    assert {episode.colour for episode in episodes} == set(Colour)
    templates = {template.format(colour='{c}') for template in PHRASINGS[task]}
    used = {episode.instruction.replace(episode.colour.value, '{c}') for episode in episodes}
    assert len(PHRASINGS[task]) >= 4 and used == templates
    for episode in episodes:
        assert episode.colour.value in episode.instruction
        assert episode.cube_name == f'{episode.colour.value}_cube' and episode.task is task


def test_episodes_are_deterministic_per_seed_and_tasks_worded_apart() -> None:
    assert make_episode(TaskKind.LIFT, 7) == make_episode(TaskKind.LIFT, 7)
    assert sample_episodes(TaskKind.REACH, 3, seed=5)[1] == make_episode(TaskKind.REACH, 6)
    assert not set(PHRASINGS[TaskKind.REACH]) & set(PHRASINGS[TaskKind.LIFT])
    with pytest.raises(ConfigError, match='episode seed'):
        make_episode(TaskKind.REACH, -1)


@pytest.mark.parametrize(('task', 'seed'), [
    (TaskKind.REACH, 0), (TaskKind.REACH, 1), (TaskKind.REACH, 2), (TaskKind.REACH, 3),
    (TaskKind.LIFT, 0), (TaskKind.LIFT, 1), (TaskKind.LIFT, 2),
], ids=lambda value: getattr(value, 'value', value))
def test_expert_solves_the_episode_within_limits(sim: TabletopSim, task: TaskKind,
                                                 seed: int) -> None:
    episode = make_episode(task, seed)
    expert = ScriptedExpert(SCENE_PATH, episode)
    measured: list[NDArray[np.float64]] = []
    actions: list[NDArray[np.float64]] = []

    def keep(scene: TabletopSim, positions: NDArray[np.float64],
             action: NDArray[np.float64]) -> None:
        measured.append(positions)
        actions.append(action)

    sim.reset(seed)
    start = sim.object_positions()
    result = run_expert_episode(sim, expert, episode, max_steps=max_steps_for(task),
                                on_step=keep)

    assert result.success and episode.is_success(sim)
    assert result.time_to_success_s is not None and result.time_to_success_s < 3.0
    assert result.steps == len(actions) == round(result.time_to_success_s / 0.1) + 3
    steps = np.abs(np.diff(np.vstack([measured[0], *actions]), axis=0))
    assert steps[:, :6].max() <= ARM_STEP_RAD + 1e-9
    assert steps[:, 6].max() <= GRIPPER_STEP_M + 1e-9
    lower, upper = sim.joint_limits()
    assert np.all(np.vstack(actions)[:, :6] >= lower[:6] + JOINT_MARGIN_RAD - 1e-9)
    assert np.all(np.vstack(actions)[:, :6] <= upper[:6] - JOINT_MARGIN_RAD + 1e-9)
    end = sim.object_positions()
    for name in CUBE_NAMES:
        if name != episode.cube_name:  # the other cubes are left where they were
            assert np.linalg.norm(end[name] - start[name]) < 0.005, name
    if task is TaskKind.LIFT:
        assert expert.phase is ExpertPhase.LIFT
        assert sim.joint_positions()[6] > 0.015  # the fingers rest on the cube's faces


def test_expert_reaches_the_named_cube_not_another(sim: TabletopSim) -> None:
    touched = set()
    for colour in Colour:
        episode = Episode(task=TaskKind.REACH, colour=colour, instruction='x', seed=11)
        run_expert_episode(sim, ScriptedExpert(SCENE_PATH, episode), episode, max_steps=40)
        for other in Colour:
            other_episode = Episode(task=TaskKind.REACH, colour=other, instruction='x', seed=11)
            if other_episode.is_success(sim):
                touched.add((colour, other))
    assert touched == {(colour, colour) for colour in Colour}
