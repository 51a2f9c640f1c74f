# SPDX-License-Identifier: Apache-2.0
# Copyright 2026 The vla_ros authors
"""The success check `vla-ros eval` and `vla-ros demo` share, on real MuJoCo scenes."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import numpy as np
from numpy.typing import NDArray
import pytest

from vla_ros.core.config import load_config
from vla_ros.ros.success_check import (
    cube_distances_m,
    episode_for_instruction,
    reach_frame,
    SuccessCheck,
)
from vla_ros.sim import MujocoSim, TabletopSim
from vla_ros.sim.bimanual_tasks import BimanualEpisode, BimanualTaskKind, Side
from vla_ros.sim.expert import run_expert_episode, ScriptedExpert
from vla_ros.sim.humanoid_tasks import Hand, HandReachEpisode
from vla_ros.sim.tasks import (
    Colour,
    Episode,
    FailureReason,
    make_episode,
    REACH_TOLERANCE_M,
    TaskKind,
)

REPO_ROOT = Path(__file__).resolve().parents[2]
SCENE_PATH = REPO_ROOT / 'urdf' / 'tabletop_scene.xml'


def _sim(config: str) -> MujocoSim:
    sim_config = load_config(REPO_ROOT / 'config' / config).sim
    assert sim_config is not None
    return MujocoSim(sim_config)


@pytest.fixture(scope='module')
def scenes() -> Iterator[dict[str, MujocoSim]]:
    opened = {name: _sim(f'{name}.yaml') for name in ('tabletop_arm', 'aloha', 'g1')}
    yield opened
    for sim in opened.values():
        sim.close()


REACH, LIFT, PLACE = TaskKind.REACH, TaskKind.LIFT, TaskKind.PLACE


@pytest.mark.parametrize(('scene', 'instruction', 'task', 'expected'), [
    ('tabletop_arm', 'touch the red cube', REACH,
     Episode(TaskKind.REACH, Colour.RED, 'touch the red cube', 7)),
    ('tabletop_arm', 'pick up the blue cube', LIFT,
     Episode(TaskKind.LIFT, Colour.BLUE, 'pick up the blue cube', 7)),
    ('tabletop_arm', 'put the green cube on the yellow square', PLACE,
     Episode(TaskKind.PLACE, Colour.GREEN, 'put the green cube on the yellow square', 7)),
    ('tabletop_arm', 'touch the cube', REACH, None),
    ('tabletop_arm', 'touch the red or the blue cube', REACH, None),
    ('aloha', 'touch the green cube with the left gripper', REACH,
     BimanualEpisode(BimanualTaskKind.SIDE_REACH, Colour.GREEN, Side.LEFT,
                     'touch the green cube with the left gripper', 7)),
    ('aloha', 'touch the green cube', REACH, None),
    ('g1', 'touch the red cube with your right hand', REACH,
     HandReachEpisode(Colour.RED, Hand.RIGHT, 'touch the red cube with your right hand', 7)),
    ('g1', 'touch the red cube with the left and the right hand', REACH, None),
], ids=['tabletop-reach', 'tabletop-lift', 'tabletop-place', 'no-colour', 'two-colours',
        'aloha-gripper', 'aloha-no-side', 'g1-hand', 'g1-both-hands'])
def test_the_instruction_names_the_episode_the_demo_checks(scenes, scene, instruction, task,
                                                           expected):
    assert episode_for_instruction(scenes[scene], instruction, task=task, seed=7) == expected


@pytest.mark.parametrize(('scene', 'instruction', 'frame'), [
    ('tabletop_arm', 'touch the red cube', 'end_effector'),
    ('aloha', 'touch the red cube with the right gripper', 'right_end_effector'),
    ('g1', 'put your left hand on the blue cube', 'left_hand'),
    ('g1', 'touch the blue cube', None),
], ids=['end-effector', 'aloha-right', 'g1-left', 'g1-no-hand'])
def test_the_reach_is_measured_at_the_named_hand(scenes, scene, instruction, frame):
    assert reach_frame(scenes[scene], instruction) == frame


@pytest.mark.parametrize(('task', 'seed'), [(TaskKind.REACH, 1001), (TaskKind.LIFT, 1000)])
def test_the_check_sees_the_expert_succeed_when_the_task_predicate_does(task, seed):
    episode = make_episode(task, seed)
    checks: list[SuccessCheck] = []

    def observe(sim: TabletopSim, _joints: NDArray[np.float64],
                _action: NDArray[np.float64]) -> None:
        if not checks:  # the first step: the scene is reset to the episode now
            checks.append(SuccessCheck(sim, episode))
        checks[0].observe()

    with TabletopSim(SCENE_PATH) as sim:
        result = run_expert_episode(sim, ScriptedExpert(SCENE_PATH, episode), episode,
                                    max_steps=400, on_step=observe)
        distances_m = cube_distances_m(sim, 'end_effector')

    (check,) = checks
    assert result.success and result.time_to_success_s is not None
    # The check reads the scene before each step: it sees the success the step after.
    assert check.time_to_success_s == pytest.approx(result.time_to_success_s, abs=1e-6)
    assert check.watch.failure_reason() is None
    if task is TaskKind.REACH:
        assert distances_m[episode.colour.value] <= REACH_TOLERANCE_M
        assert min(distances_m, key=distances_m.__getitem__) == episode.colour.value
        assert check.closest_m is not None and check.closest_m <= REACH_TOLERANCE_M
        assert check.ended_nearest is episode.colour
    else:  # only a reach is measured by its distance
        assert check.closest_m is None and check.ended_nearest is None


def test_a_check_that_never_succeeds_says_why():
    episode = make_episode(TaskKind.LIFT, 1000)
    with TabletopSim(SCENE_PATH) as sim:
        sim.reset(episode.seed)
        check = SuccessCheck(sim, episode)
        sim.step(0.5)

        succeeded = check.observe()

    assert not succeeded and check.time_to_success_s is None
    assert check.elapsed_s == pytest.approx(0.5, abs=0.01)
    assert check.watch.failure_reason() is FailureReason.NEVER_GRASPED
    assert check.watch.max_height_m is not None and abs(check.watch.max_height_m) < 0.005


@pytest.mark.parametrize(('scene', 'episode', 'frame', 'joint'), [
    ('aloha', BimanualEpisode(BimanualTaskKind.SIDE_REACH, Colour.BLUE, Side.RIGHT,
                              'touch the blue cube with the right gripper', 1004),
     'right_end_effector', 'right_waist'),
    ('g1', HandReachEpisode(Colour.GREEN, Hand.LEFT, 'touch the green cube with your left hand',
                            1004), 'left_hand', 'waist_yaw_joint'),
], ids=['aloha-side-reach', 'g1-hand-reach'])
def test_a_reach_keeps_its_closest_distance_and_the_cube_it_ended_nearest(scenes, scene, episode,
                                                                          frame, joint):
    sim = scenes[scene]
    sim.reset(episode.seed)
    check = SuccessCheck(sim, episode)
    sim.step(0.2)
    check.observe()
    first_m = cube_distances_m(sim, frame)
    target = sim.joint_positions().copy()  # turn the waist under the frame: it moves
    target[sim.joint_names.index(joint)] += 0.4
    sim.set_position_targets(target)
    sim.step(1.0)

    assert not check.observe()
    later_m = cube_distances_m(sim, frame)

    assert later_m != first_m
    named = episode.colour.value
    assert check.closest_m == pytest.approx(min(first_m[named], later_m[named]), abs=1e-12)
    assert check.ended_nearest is Colour(min(later_m, key=later_m.__getitem__))
    assert check.closest_m > REACH_TOLERANCE_M
