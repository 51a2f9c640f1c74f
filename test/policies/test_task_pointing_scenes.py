# SPDX-License-Identifier: Apache-2.0
# Copyright 2026 The vla_ros authors
"""Pointing scenes of any embodiment's sim (`vla-ros pointing --task`): the G1, ALOHA, bad input.

Real MuJoCo: the labels must be the cubes where a fresh reset of the config's scene puts them,
the images what its cameras see there (robot in its reset pose), and the prompts every phrasing
of the task for every colour and every hand or side, each labelled with its colour's cube.
"""

from __future__ import annotations

import dataclasses
from pathlib import Path
import re

import numpy as np
from numpy.testing import assert_array_equal
import pytest

from vla_ros.cli.main import main
from vla_ros.core.config import load_config, VlaConfig
from vla_ros.core.errors import ConfigError
from vla_ros.core.pointing_set import PointingSet
from vla_ros.sim import bimanual_tasks, humanoid_tasks
from vla_ros.sim.mujoco_sim import MujocoSim
from vla_ros.sim.pointing_scenes import (
    PLACE_TARGET_PROMPTS,
    POINTING_PROMPTS,
    render_task_pointing_scenes,
    task_pointing_prompts,
)
from vla_ros.sim.tasks import Colour, TARGET_NAME

REPO_ROOT = Path(__file__).resolve().parents[2]
G1_CONFIG = REPO_ROOT / 'config' / 'g1_reach.yaml'
ALOHA_CONFIG = REPO_ROOT / 'config' / 'aloha_reach.yaml'
PLACE_CONFIG = REPO_ROOT / 'config' / 'tabletop_arm_place.yaml'
CUBES = ('red_cube', 'green_cube', 'blue_cube')


def _load(path: Path) -> VlaConfig:
    config = load_config(path)
    assert config.sim is not None
    return config


def _expected_scene(config: VlaConfig, seed: int) -> tuple[list[np.ndarray], np.ndarray]:
    """Each camera's image and the cubes' (x, y) after a fresh reset with ``seed``."""
    assert config.sim is not None
    with MujocoSim(config.sim) as sim:
        sim.reset(seed)
        images = [sim.render(camera.name, camera.width, camera.height)
                  for camera in config.embodiment.cameras]
        cubes = sim.object_positions()
    return images, np.array([cubes[name][:2] for name in CUBES], np.float32)


def _named_pairs(prompts: tuple[tuple[str, int], ...], sides: tuple[str, str]
                 ) -> set[tuple[str, str]]:
    """(colour, side) each prompt names, checking that its label is that colour's cube."""
    pairs = set()
    for text, index in prompts:
        words = text.split()
        colours = [colour for colour in Colour if colour.value in words]
        named_sides = [side for side in sides if side in words]
        assert len(colours) == 1 and len(named_sides) == 1, text
        assert index == list(Colour).index(colours[0]), (text, index)
        pairs.add((colours[0].value, named_sides[0]))
    return pairs


def test_g1_scenes_are_labelled_with_the_cubes_and_seen_from_every_camera() -> None:
    config = _load(G1_CONFIG)
    assert config.sim is not None

    scenes = render_task_pointing_scenes(sim_config=config.sim, task='hand_reach',
                                         cameras=config.embodiment.cameras, count=3, seed=52000)

    assert scenes.camera_names == ('head', 'left_wrist', 'right_wrist')
    assert scenes.object_names == CUBES
    assert scenes.images.shape == (3, 3, 64, 64, 3)
    for index in range(3):
        images, cubes = _expected_scene(config, 52000 + index)
        assert_array_equal(scenes.positions[index], cubes)
        for slot, image in enumerate(images):
            assert_array_equal(scenes.images[index, slot], image)
    assert not np.array_equal(scenes.positions[0], scenes.positions[1])


def test_g1_prompts_are_every_phrasing_for_every_colour_and_hand() -> None:
    prompts = task_pointing_prompts('hand_reach')

    hands = tuple(hand.value for hand in humanoid_tasks.Hand)
    assert _named_pairs(prompts, hands) == {
        (colour.value, hand) for colour in Colour for hand in hands}
    assert len(prompts) == len(set(prompts)) == len(humanoid_tasks.PHRASINGS) * 3 * 2
    assert humanoid_tasks.make_hand_reach_episode(1000).instruction in {
        text for text, _ in prompts}


def test_the_pointing_verb_writes_the_g1_scenes(tmp_path: Path,
                                                capsys: pytest.CaptureFixture[str]) -> None:
    out = tmp_path / 'g1.npz'

    code = main(['pointing', '--config', str(G1_CONFIG), '--task', 'hand_reach', '--scenes', '2',
                 '--seed', '52000', '--out', str(out)])

    assert code == 0, capsys.readouterr().err
    written = PointingSet.load(out)
    assert written.prompts == task_pointing_prompts('hand_reach')
    _, cubes = _expected_scene(_load(G1_CONFIG), 52001)
    assert_array_equal(written.positions[1], cubes)


def test_the_tabletop_default_prompts_are_reach_and_lift_as_the_shipped_recipes_used() -> None:
    # The place scene's pad is not in the tabletop scene: its phrasings need --task place.
    assert POINTING_PROMPTS == task_pointing_prompts('reach') + task_pointing_prompts('lift')
    assert len(POINTING_PROMPTS) == 30
    assert not any('yellow' in prompt for prompt, _ in POINTING_PROMPTS)
    assert any('yellow' in prompt for prompt, _ in task_pointing_prompts('place'))


def test_place_scenes_label_the_pad_as_well_as_the_cubes() -> None:
    # The place instructions name a cube and the pad; the pad's prompts point at the pad.
    config = _load(PLACE_CONFIG)
    assert config.sim is not None

    scenes = render_task_pointing_scenes(sim_config=config.sim, task='place',
                                         cameras=config.embodiment.cameras, count=2, seed=53000)

    assert scenes.object_names == (*CUBES, TARGET_NAME)
    with MujocoSim(config.sim) as sim:
        for index, seed in enumerate((53000, 53001)):
            sim.reset(seed)
            where = sim.object_positions()
            assert_array_equal(scenes.positions[index],
                               np.array([where[name][:2] for name in scenes.object_names],
                                        np.float32))
    pad = [text for text, index in scenes.prompts if index == 3]
    assert pad == list(PLACE_TARGET_PROMPTS)
    cube_prompts = [(text, index) for text, index in scenes.prompts if index < 3]
    assert len(cube_prompts) == 15 and all('yellow' in text for text, _ in cube_prompts)
    for text, index in cube_prompts:
        assert list(Colour)[index].value in text.split(), text
    # Every name the place phrasings give the pad has its own prompt.
    assert {' '.join(text.split()[-2:]) for text, _ in cube_prompts} == {
        text.removeprefix('the ') for text in PLACE_TARGET_PROMPTS}


def test_aloha_side_reach_scenes_name_every_colour_and_side() -> None:
    config = _load(ALOHA_CONFIG)
    assert config.sim is not None

    scenes = render_task_pointing_scenes(sim_config=config.sim, task='side_reach',
                                         cameras=config.embodiment.cameras, count=1, seed=52000)

    images, cubes = _expected_scene(config, 52000)
    assert_array_equal(scenes.positions[0], cubes)
    # cam_high is rendered 160 x 160 and cropped to the cubes' area: the policy's 64 x 64.
    assert images[0].shape == (160, 160, 3) and scenes.images.shape[2:] == (64, 64, 3)
    assert_array_equal(scenes.images[0, 0], images[0][50:114, 48:112])
    assert_array_equal(scenes.images[0, 1], images[1])
    sides = tuple(side.value for side in bimanual_tasks.Side)
    assert _named_pairs(scenes.prompts, sides) == {
        (colour.value, side) for colour in Colour for side in sides}
    assert {text for text, _ in task_pointing_prompts('handover')}.isdisjoint(
        text for text, _ in scenes.prompts)


def _g1_config_without_blue_cube(folder: Path) -> Path:
    """config/g1_reach.yaml with absolute paths and no blue cube under sim.objects."""
    text = G1_CONFIG.read_text().replace(' urdf/', f' {REPO_ROOT}/urdf/').replace(
        ' checkpoints/', f' {REPO_ROOT}/checkpoints/')
    start = text.index('    blue_cube: {')
    end = text.index('\n', text.index('min_gap_m', start)) + 1
    path = folder / 'g1_no_blue.yaml'
    path.write_text(text[:start] + text[end:])
    return path


@pytest.mark.parametrize(('config', 'task', 'match'), [
    (G1_CONFIG, None, r"is not the tabletop arm's scene .* --task"),
    (None, 'hand_reach', r"lack \['blue_cube'\]"),
], ids=['g1-without-task', 'cube-missing'])
def test_a_config_the_task_cannot_use_is_one_line_config_error(
        config: Path | None, task: str | None, match: str, tmp_path: Path,
        capsys: pytest.CaptureFixture[str]) -> None:
    path = config or _g1_config_without_blue_cube(tmp_path)
    out = tmp_path / 'scenes.npz'

    code = main(['pointing', '--config', str(path), '--scenes', '2', '--seed', '1', '--out',
                 str(out), *(() if task is None else ('--task', task))])

    stderr = capsys.readouterr().err
    assert code == 1 and not out.exists()
    assert len(stderr.strip().splitlines()) == 1 and stderr.startswith('vla-ros pointing: ')
    assert re.search(match, stderr), stderr


def test_unknown_task_and_mixed_camera_sizes_are_refused() -> None:
    config = _load(G1_CONFIG)
    assert config.sim is not None
    cameras = config.embodiment.cameras

    with pytest.raises(ConfigError, match="task 'wave'"):
        task_pointing_prompts('wave')
    odd = (cameras[0], dataclasses.replace(cameras[1], width=32, height=32))
    with pytest.raises(ConfigError, match='cameras of sizes'):
        render_task_pointing_scenes(sim_config=config.sim, task='hand_reach', cameras=odd,
                                    count=1, seed=0)
