# SPDX-License-Identifier: Apache-2.0
# Copyright 2026 The vla_ros authors
"""The humanoid's hand reach: episodes, the success predicate and the scripted DLS expert.

In process on the real G1 scene (config/g1.yaml); the same expert over DDS is in
test/ros/test_g1_sim.py.
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import numpy as np
import pytest

from vla_ros.core.config import load_config, VlaConfig
from vla_ros.core.errors import ConfigError
from vla_ros.sim import MujocoSim
from vla_ros.sim.humanoid_expert import (
    CLEARANCE_M,
    hand_reach_expert,
    HandReachExpert,
    IDLE_LIFT_M,
    run_hand_reach_episode,
)
from vla_ros.sim.humanoid_tasks import (
    Hand,
    HandReachEpisode,
    make_hand_reach_episode,
    PHRASINGS,
    sample_hand_reach_episodes,
)
from vla_ros.sim.tasks import Colour, REACH_TOLERANCE_M

G1_CONFIG = Path(__file__).resolve().parents[2] / 'config' / 'g1.yaml'


@pytest.fixture(scope='module')
def config() -> VlaConfig:
    return load_config(G1_CONFIG)


@pytest.fixture(scope='module')
def g1(config: VlaConfig) -> Iterator[MujocoSim]:
    assert config.sim is not None
    with MujocoSim(config.sim) as sim:
        yield sim


def test_episodes_name_colour_and_hand_and_are_reproducible() -> None:
    episodes = sample_hand_reach_episodes(60, seed=1000)
    assert [e.seed for e in episodes] == list(range(1000, 1060))
    assert episodes == sample_hand_reach_episodes(60, seed=1000)
    assert {e.hand for e in episodes} == set(Hand)
    assert {e.colour for e in episodes} == set(Colour)
    assert {e.instruction.replace(e.colour.value, '{colour}').replace(e.hand.value, '{hand}')
            for e in episodes} == set(PHRASINGS)
    for episode in episodes:
        assert f'{episode.colour.value} ' in episode.instruction
        assert f'{episode.hand.value} hand' in episode.instruction


@pytest.mark.parametrize(('seed', 'count'), [(-1, 1), (0, -1)], ids=['seed', 'count'])
def test_negative_seed_or_count_is_a_config_error(seed: int, count: int) -> None:
    with pytest.raises(ConfigError, match='expected >= 0'):
        sample_hand_reach_episodes(count, seed)


def test_only_the_named_hand_counts(config: VlaConfig, g1: MujocoSim) -> None:
    assert config.sim is not None
    right = HandReachEpisode(Colour.RED, Hand.RIGHT, 'touch the red cube with your right hand', 5)
    left = HandReachEpisode(Colour.RED, Hand.LEFT, 'touch the red cube with your left hand', 5)
    green = HandReachEpisode(Colour.GREEN, Hand.RIGHT, 'touch the green cube with your right hand',
                             5)
    g1.reset(5)
    assert not right.is_success(g1)  # at home, over the table
    assert run_hand_reach_episode(
        g1, hand_reach_expert(config.sim, config.embodiment.controllers, right), right).success
    top = g1.object_positions()['red_cube'] + np.array([0.0, 0.0, 0.02])
    distance = np.linalg.norm(g1.frame_position('right_hand') - top)
    assert right.distance_m(g1) == pytest.approx(distance)
    assert right.is_success(g1) and distance <= REACH_TOLERANCE_M
    assert not left.is_success(g1) and not green.is_success(g1)


def test_the_expert_touches_the_named_cube_with_the_named_hand(config: VlaConfig,
                                                              g1: MujocoSim) -> None:
    assert config.sim is not None
    results = []
    for episode in sample_hand_reach_episodes(20, seed=2000):
        expert = hand_reach_expert(config.sim, config.embodiment.controllers, episode)
        result = run_hand_reach_episode(g1, expert, episode)
        results.append(result.success)
        other = next(hand for hand in Hand if hand is not episode.hand)
        top = episode.reach_point(g1)
        # The hand ended just above the cube's top face; the other stayed away from it.
        assert np.linalg.norm(g1.frame_position(episode.hand.frame)[:2] - top[:2]) < 0.02
        assert np.linalg.norm(g1.frame_position(other.frame) - top) > 0.08
    assert sum(results) >= 19, results


def test_the_other_hand_rises_and_legs_and_hands_keep_their_targets(
        config: VlaConfig, g1: MujocoSim) -> None:
    assert config.sim is not None
    episode = make_hand_reach_episode(2001)
    g1.reset(episode.seed)
    other = next(hand for hand in Hand if hand is not episode.hand)
    other_start = g1.frame_position(other.frame)
    home = g1.position_targets()
    expert = hand_reach_expert(config.sim, config.embodiment.controllers, episode)
    result = run_hand_reach_episode(g1, expert, episode)
    assert result.success
    assert g1.frame_position(other.frame)[2] - other_start[2] == pytest.approx(IDLE_LIFT_M,
                                                                                abs=0.02)
    moved = set(np.array(g1.joint_names)[np.abs(g1.position_targets() - home) > 1e-9])
    controllers = config.embodiment.controllers
    assert moved <= set(controllers['waist_controller'] + controllers['left_arm_controller']
                        + controllers['right_arm_controller'])
    assert set(controllers[f'{episode.hand.value}_arm_controller']) <= moved
    assert episode.distance_m(g1) <= CLEARANCE_M + 0.02


def test_expert_without_the_arm_controller_is_a_config_error(config: VlaConfig) -> None:
    assert config.sim is not None
    episode = make_hand_reach_episode(0)
    with pytest.raises(ConfigError, match=r"no '(left|right)_arm_controller'"):
        hand_reach_expert(config.sim, {'waist_controller': ('waist_yaw_joint',)}, episode)
    with pytest.raises(ConfigError, match=r"joints \['elbow'\]"):
        HandReachExpert(config.sim, episode, arm_joints=('elbow',))
