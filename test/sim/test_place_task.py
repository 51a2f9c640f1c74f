# SPDX-License-Identifier: Apache-2.0
# Copyright 2026 The vla_ros authors
"""The place task: its words, its success check, its scene beside the lift scene, its expert."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path

import mujoco
import numpy as np
from numpy.typing import NDArray
import pytest

from vla_ros.core.config import load_config
from vla_ros.core.errors import ConfigError
from vla_ros.core.sim_config import SimConfig
from vla_ros.sim import CUBE_NAMES, MujocoSim, TabletopSim
from vla_ros.sim.demonstrations import load_demonstration, record_demonstrations
from vla_ros.sim.expert import (
    ARM_STEP_RAD,
    ExpertPhase,
    GRIPPER_STEP_M,
    JOINT_MARGIN_RAD,
    max_steps_for,
    POLICY_DT_S,
    run_expert_episode,
    ScriptedExpert,
)
from vla_ros.sim.tasks import (
    check_scene_objects,
    Colour,
    Episode,
    EpisodeWatch,
    FailureReason,
    gripper_clear,
    make_episode,
    off_target_m,
    on_target,
    PHRASINGS,
    sample_episodes,
    TARGET_HALF_SIZE_M,
    TARGET_NAME,
    TaskKind,
)

REPO_ROOT = Path(__file__).resolve().parents[2]
LIFT_SCENE = REPO_ROOT / 'urdf' / 'tabletop_scene.xml'
PLACE_SCENE = REPO_ROOT / 'urdf' / 'tabletop_place_scene.xml'
PLACE_CONFIG = REPO_ROOT / 'config' / 'tabletop_arm_place.yaml'
#: A pad at (0.30, 0.20), turned 30 degrees; the other cubes rest well away from it.
PAD_M = (0.30, 0.20, 0.001)
PAD_YAW_RAD = np.pi / 6
RESTING = {'red_cube': (0.30, -0.10, 0.02), 'green_cube': (0.40, 0.0, 0.02),
           'blue_cube': (0.25, 0.05, 0.02)}


@dataclass(frozen=True)
class PlaceState:
    """A place scene's state written down by hand: where the red cube and ee_site are."""

    red_m: tuple[float, float, float]
    end_effector_m: tuple[float, float, float]
    red_velocity_m_s: tuple[float, float, float] = (0.0, 0.0, 0.0)
    others_m: dict[str, tuple[float, float, float]] = field(default_factory=lambda: RESTING)

    def object_positions(self) -> dict[str, NDArray[np.float64]]:
        """Object name -> (3,) centre, m: the cubes and the pad."""
        positions = {name: np.array(xyz) for name, xyz in self.others_m.items()}
        return {**positions, 'red_cube': np.array(self.red_m), TARGET_NAME: np.array(PAD_M)}

    def object_orientations(self) -> dict[str, NDArray[np.float64]]:
        """Object name -> (4,) quaternion (w, x, y, z): upright cubes, the pad turned."""
        upright = {name: np.array([1.0, 0.0, 0.0, 0.0]) for name in CUBE_NAMES}
        pad = np.array([np.cos(PAD_YAW_RAD / 2), 0.0, 0.0, np.sin(PAD_YAW_RAD / 2)])
        return {**upright, TARGET_NAME: pad}

    def object_velocities(self) -> dict[str, NDArray[np.float64]]:
        """Object name -> (3,) velocity, m/s: all still but the red cube."""
        still = {name: np.zeros(3) for name in [*CUBE_NAMES, TARGET_NAME]}
        return {**still, 'red_cube': np.array(self.red_velocity_m_s)}

    def end_effector_position(self) -> NDArray[np.float64]:
        """(3,) ee_site position, m."""
        return np.array(self.end_effector_m)


def on_pad(along_m: float, across_m: float, z_m: float = 0.02) -> tuple[float, float, float]:
    """The point ``along_m`` and ``across_m`` from the pad's centre along its own axes."""
    c, s = np.cos(PAD_YAW_RAD), np.sin(PAD_YAW_RAD)
    return (PAD_M[0] + c * along_m - s * across_m, PAD_M[1] + s * along_m + c * across_m, z_m)


def above(point: tuple[float, float, float], dz_m: float) -> tuple[float, float, float]:
    return (point[0], point[1], point[2] + dz_m)


CENTRE = on_pad(0.0, 0.0)
EDGE_IN = on_pad(0.039, -0.039)  # 1 mm inside a corner, in the pad's frame
EDGE_OUT = on_pad(0.041, 0.0)    # 1 mm outside an edge: inside the world-axis box of the pad


@pytest.mark.parametrize(('state', 'expected'), [
    (PlaceState(CENTRE, above(CENTRE, 0.10)), True),
    (PlaceState(EDGE_IN, above(EDGE_IN, 0.031)), True),
    (PlaceState(CENTRE, (CENTRE[0] + 0.091, CENTRE[1], 0.02)), True),
    (PlaceState(EDGE_OUT, above(EDGE_OUT, 0.10)), False),
    (PlaceState(CENTRE, CENTRE), False),
    (PlaceState(CENTRE, above(CENTRE, 0.029)), False),
    (PlaceState(CENTRE, (CENTRE[0] + 0.06, CENTRE[1], 0.02)), False),
    (PlaceState(above(CENTRE, 0.008), above(CENTRE, 0.10)), False),
    (PlaceState(above(CENTRE, 0.05), above(CENTRE, 0.05)), False),
    (PlaceState(CENTRE, above(CENTRE, 0.10), red_velocity_m_s=(0.05, 0.0, 0.0)), False),
], ids=['placed_and_left', 'corner_fingertips_clear', 'fingers_9.1cm_aside', 'outside_edge',
        'still_grasped', 'fingertips_at_the_top_face', 'fingers_6cm_aside', 'tipped_on_an_edge',
        'held_above_the_pad', 'sliding'])
def test_place_success_on_constructed_states(state: PlaceState, expected: bool) -> None:
    episode = Episode(task=TaskKind.PLACE, colour=Colour.RED, instruction='x', seed=0)
    assert episode.is_success(state) is expected
    assert on_target(state, 'red_cube') is (state.red_m[:2] != EDGE_OUT[:2])
    assert gripper_clear(state, 'blue_cube')  # 9 cm or more from every state's ee_site


GRASPED = PlaceState((0.30, -0.10, 0.02), (0.30, -0.10, 0.02))
CARRIED = PlaceState((0.30, 0.05, 0.15), (0.30, 0.05, 0.15))
OUTSIDE = (0.45, 0.05, 0.02)


@pytest.mark.parametrize(('states', 'expected'), [
    ([PlaceState(RESTING['red_cube'], (0.2, 0.0, 0.12))], FailureReason.NEVER_GRASPED),
    ([GRASPED, CARRIED], FailureReason.STILL_HELD),
    ([GRASPED, CARRIED, PlaceState(CENTRE, CENTRE)], FailureReason.STILL_HELD),
    ([GRASPED, CARRIED, PlaceState(OUTSIDE, above(OUTSIDE, 0.1))],
     FailureReason.DROPPED_OUTSIDE),
    ([GRASPED, CARRIED, PlaceState(above(OUTSIDE, 0.01), above(OUTSIDE, 0.01)),
      PlaceState(OUTSIDE, above(OUTSIDE, 0.1))], FailureReason.PLACED_OUTSIDE),
    ([GRASPED, CARRIED, PlaceState(above(CENTRE, 0.008), above(CENTRE, 0.1))],
     FailureReason.NOT_AT_REST),
    ([GRASPED, CARRIED, PlaceState(CENTRE, above(CENTRE, 0.1)), GRASPED], None),
    ([GRASPED, PlaceState(RESTING['red_cube'], (0.2, 0.0, 0.12),
                          others_m={**RESTING, 'blue_cube': (0.25, 0.05, 0.1)})],
     FailureReason.WRONG_CUBE),
], ids=['never_grasped', 'carried_at_the_end', 'on_the_pad_not_let_go', 'dropped_outside',
        'placed_outside', 'tipped_on_the_pad', 'succeeded_then_moved', 'another_cube_lifted'])
def test_episode_watch_names_why_a_place_failed(states: list[PlaceState],
                                                expected: FailureReason | None) -> None:
    watch = EpisodeWatch(Episode(task=TaskKind.PLACE, colour=Colour.RED, instruction='x',
                                 seed=0))
    for state in states:
        watch.observe(state)
    assert watch.failure_reason() is expected


@pytest.mark.parametrize(('red_m', 'expected_m'), [
    (CENTRE, 0.0),
    (EDGE_IN, 0.0),
    (above(CENTRE, 0.10), 0.0),          # over the pad counts at any height
    (EDGE_OUT, 0.001),                   # 1 mm past an edge, in the pad's turned frame
    (on_pad(0.07, 0.0), 0.03),
    (on_pad(-0.07, 0.08), float(np.hypot(0.03, 0.04))),  # past a corner: to the corner
], ids=['centre', 'inside_a_corner', 'held_above', 'past_an_edge', '3cm_out', 'past_a_corner'])
def test_off_target_is_the_distance_to_the_pads_square(red_m: tuple[float, float, float],
                                                        expected_m: float) -> None:
    state = PlaceState(red_m, above(red_m, 0.10))
    assert off_target_m(state, 'red_cube') == pytest.approx(expected_m, abs=1e-9)
    assert on_target(state, 'red_cube') is (expected_m == 0.0)


def test_episode_watch_keeps_how_far_off_the_pad_the_cube_ended() -> None:
    watch = EpisodeWatch(Episode(task=TaskKind.PLACE, colour=Colour.RED, instruction='x',
                                 seed=0))
    assert watch.off_target_m is None
    for state in (GRASPED, CARRIED, PlaceState(on_pad(0.07, 0.0), above(on_pad(0.07, 0.0), 0.1))):
        watch.observe(state)
    assert watch.off_target_m == pytest.approx(0.03)
    assert watch.failure_reason() is FailureReason.DROPPED_OUTSIDE
    lift = EpisodeWatch(Episode(task=TaskKind.LIFT, colour=Colour.RED, instruction='x', seed=0))
    lift.observe(GRASPED)
    assert lift.off_target_m is None  # lift scenes have no pad


def test_place_instructions_name_the_cube_and_the_yellow_target() -> None:
    episodes = sample_episodes(TaskKind.PLACE, 60, seed=0)
    assert len(set(PHRASINGS[TaskKind.PLACE])) == 5
    assert {episode.instruction.replace(episode.colour.value, '{colour}')
            for episode in episodes} == set(PHRASINGS[TaskKind.PLACE])
    assert {episode.colour for episode in episodes} == set(Colour)
    for episode in episodes:
        words = episode.instruction.split()
        assert episode.colour.value in words and 'yellow' in words
        assert [colour for colour in Colour if colour.value in words] == [episode.colour]
    lift_and_reach = {*PHRASINGS[TaskKind.LIFT], *PHRASINGS[TaskKind.REACH]}
    assert not set(PHRASINGS[TaskKind.PLACE]) & lift_and_reach


@pytest.fixture(scope='module')
def place_config() -> SimConfig:
    sim = load_config(PLACE_CONFIG).sim
    assert sim is not None
    return sim


@pytest.fixture(scope='module')
def place_sim(place_config: SimConfig) -> Iterator[MujocoSim]:
    with MujocoSim(place_config) as sim:
        yield sim


def test_the_place_scene_is_the_lift_scene_plus_a_pad_that_touches_nothing() -> None:
    lift = mujoco.MjModel.from_xml_path(str(LIFT_SCENE))
    place = mujoco.MjModel.from_xml_path(str(PLACE_SCENE))
    assert (place.nbody, place.ngeom, place.njnt) == (lift.nbody + 1, lift.ngeom + 1,
                                                      lift.njnt + 1)
    assert place.body(lift.nbody).name == TARGET_NAME
    for name in ('body_pos', 'body_quat', 'body_mass', 'body_inertia', 'body_gravcomp',
                 'geom_type', 'geom_size', 'geom_pos', 'geom_quat', 'geom_contype',
                 'geom_conaffinity', 'geom_friction', 'geom_rgba', 'jnt_range', 'dof_damping',
                 'actuator_gainprm', 'actuator_biasprm', 'actuator_ctrlrange', 'cam_pos',
                 'cam_quat', 'light_pos', 'key_ctrl'):
        rows = len(getattr(lift, name))
        np.testing.assert_array_equal(getattr(place, name)[:rows], getattr(lift, name),
                                      err_msg=name)
    np.testing.assert_array_equal(place.key_qpos[:, :lift.nq], lift.key_qpos)
    assert place.opt.timestep == lift.opt.timestep
    pad = place.geom(TARGET_NAME)
    assert (pad.contype[0], pad.conaffinity[0]) == (0, 0)
    assert pad.size[:2].tolist() == [TARGET_HALF_SIZE_M, TARGET_HALF_SIZE_M]


def test_reach_and_lift_scenes_have_no_pad_and_place_refuses_them() -> None:
    with TabletopSim(LIFT_SCENE) as sim:
        assert sim.object_names == CUBE_NAMES
        check_scene_objects(TaskKind.LIFT, sim.object_names)
        with pytest.raises(ConfigError, match=r"task 'place'.*lacks \['target_pad'\]"):
            check_scene_objects(TaskKind.PLACE, sim.object_names)
        with pytest.raises(ConfigError, match='no .target_pad. among its objects'):
            make_episode(TaskKind.PLACE, 3).is_success(sim)
        with pytest.raises(ConfigError, match='place expert: the scene has no .target_pad.'):
            ScriptedExpert(LIFT_SCENE, make_episode(TaskKind.PLACE, 3)).act(sim)


def test_the_pad_is_placed_after_the_cubes_and_apart_from_them(place_sim: MujocoSim) -> None:
    with TabletopSim(LIFT_SCENE) as lift:
        pads = set()
        for seed in range(200):
            place_sim.reset(seed)
            lift.reset(seed)
            positions = place_sim.object_positions()
            for name, centre in lift.object_positions().items():  # as in the lift scene
                np.testing.assert_array_equal(positions[name], centre, err_msg=f'{seed} {name}')
                assert np.hypot(*(centre - positions[TARGET_NAME])[:2]) >= 0.09
            pads.add(tuple(np.round(positions[TARGET_NAME], 3)))
            episode = make_episode(TaskKind.PLACE, seed)
            assert not episode.is_success(place_sim)  # no cube starts on the pad
    assert len(pads) == 200


@pytest.mark.parametrize('seed', [0, 1, 2, 3])
def test_expert_places_the_cube_within_limits(place_sim: MujocoSim, seed: int) -> None:
    episode = make_episode(TaskKind.PLACE, seed)
    expert = ScriptedExpert(PLACE_SCENE, episode)
    measured: list[NDArray[np.float64]] = []
    actions: list[NDArray[np.float64]] = []

    def keep(scene: MujocoSim, positions: NDArray[np.float64],
             action: NDArray[np.float64]) -> None:
        measured.append(positions)
        actions.append(action)

    place_sim.reset(seed)
    start = place_sim.object_positions()
    result = run_expert_episode(place_sim, expert, episode,
                                max_steps=max_steps_for(TaskKind.PLACE), on_step=keep)

    assert result.success and episode.is_success(place_sim) and expert.phase is ExpertPhase.RETREAT
    assert result.steps == round(result.time_to_success_s / POLICY_DT_S) + 3
    end = place_sim.object_positions()
    offset = end[episode.cube_name][:2] - end[TARGET_NAME][:2]
    assert np.linalg.norm(offset) < 0.015  # set down near the pad's centre
    np.testing.assert_array_equal(end[TARGET_NAME], start[TARGET_NAME])
    for name in CUBE_NAMES:
        if name != episode.cube_name:
            assert np.linalg.norm(end[name] - start[name]) < 0.005, name
    steps = np.abs(np.diff(np.vstack([measured[0], *actions]), axis=0))
    assert steps[:, :6].max() <= ARM_STEP_RAD + 1e-9
    assert steps[:, 6].max() <= GRIPPER_STEP_M + 1e-9
    lower, upper = place_sim.joint_limits()
    assert np.all(np.vstack(actions)[:, :6] >= lower[:6] + JOINT_MARGIN_RAD - 1e-9)
    assert np.all(np.vstack(actions)[:, :6] <= upper[:6] - JOINT_MARGIN_RAD + 1e-9)
    gripper = np.vstack(actions)[:, 6]
    assert gripper.min() == 0.0 and gripper[-1] == pytest.approx(0.03)  # closed, then let go


def test_a_lift_in_the_place_scene_is_still_held_and_holding_still_never_grasps(
        place_sim: MujocoSim) -> None:
    episode = make_episode(TaskKind.PLACE, 5)
    lift = Episode(task=TaskKind.LIFT, colour=episode.colour, instruction='x', seed=5)
    watch = EpisodeWatch(episode)
    run_expert_episode(place_sim, ScriptedExpert(PLACE_SCENE, lift), lift, max_steps=60,
                       on_step=lambda scene, *_: watch.observe(scene))
    assert watch.observe(place_sim) is False
    assert watch.failure_reason() is FailureReason.STILL_HELD

    place_sim.reset(5)
    idle = EpisodeWatch(episode)
    for _ in range(5):
        place_sim.step(0.1)
        idle.observe(place_sim)
    assert idle.failure_reason() is FailureReason.NEVER_GRASPED


def test_place_demonstrations_are_recorded_in_the_place_scene(place_config: SimConfig,
                                                               tmp_path: Path) -> None:
    paths = record_demonstrations(mjcf_path=PLACE_SCENE, task=TaskKind.PLACE, count=1, seed=6,
                                  cameras=(), out_dir=tmp_path, sim_config=place_config)
    demonstration = load_demonstration(paths[0])
    assert demonstration.success and demonstration.episode == make_episode(TaskKind.PLACE, 6)
    assert demonstration.actions[:, 6].min() == 0.0 and demonstration.actions[-1, 6] > 0.02
    with pytest.raises(ConfigError, match='lacks'):  # the reach and lift scene's objects
        record_demonstrations(mjcf_path=PLACE_SCENE, task=TaskKind.PLACE, count=1, seed=6,
                              cameras=(), out_dir=tmp_path / 'no_pad')
