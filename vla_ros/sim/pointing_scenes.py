# SPDX-License-Identifier: Apache-2.0
# Copyright 2026 The vla_ros authors
"""Render sim scenes labelled with where each cube is: pointing pre-training data.

Each scene is a reset of the scene (robot in its reset pose, cubes scattered by the scene
seed), seen by the config's cameras at their sizes; the label is each cube's (x, y) on the
table. The prompts are every phrasing of the tasks for every colour (and, on the two-armed
robots, every hand or side), so the words the policies are instructed with at run time are the
words they learn to ground (see ``vla_ros.policies.pointing``).

``render_pointing_scenes`` renders the tabletop arm's scene with the phrasings of reach and
lift (``tasks.PHRASINGS``). ``render_task_pointing_scenes`` renders any config's ``sim`` scene
(``MujocoSim``) with the phrasings of one task, named as ``vla-ros demos`` and ``vla-ros eval``
name it: the tabletop's (``tasks.TaskKind``: ``reach``, ``lift``, ``place``), ``side_reach``
and ``handover`` (``bimanual_tasks``), ``hand_reach`` (``humanoid_tasks``). The cubes are
``tasks.Colour``'s in every task, and a prompt's label is its colour's cube. ``place`` also
labels its target, the pad (``tasks.TARGET_NAME``), with ``PLACE_TARGET_PROMPTS``: its
instructions name both the cube and the pad, and a policy never shown where the pad is learns
that from the action loss alone.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from pathlib import Path
from typing import TYPE_CHECKING

import numpy as np

from vla_ros.core.errors import ConfigError
from vla_ros.core.pointing_set import PointingSet
from vla_ros.sim import bimanual_tasks, humanoid_tasks
from vla_ros.sim.mujoco_sim import MujocoSim
from vla_ros.sim.scene import TabletopSim
from vla_ros.sim.tasks import Colour, PHRASINGS, TARGET_NAME, task_objects, TaskKind

if TYPE_CHECKING:
    from vla_ros.core.config import CameraConfig
    from vla_ros.core.sim_config import SimConfig

__all__ = ['PLACE_TARGET_PROMPTS', 'POINTING_PROMPTS', 'POINTING_TASKS',
           'render_pointing_scenes', 'render_task_pointing_scenes', 'task_pointing_prompts']

#: The tasks of the tabletop scene itself, whose phrasings ``render_pointing_scenes`` prompts
#: with: place needs the place scene's pad (``--task place``), and the shipped recipes
#: (docs/results.md) were trained on these 30 prompts.
TABLETOP_TASKS = (TaskKind.REACH, TaskKind.LIFT)
#: (instruction, index of the colour in ``Colour``) for every phrasing of ``TABLETOP_TASKS``.
POINTING_PROMPTS: tuple[tuple[str, int], ...] = tuple(
    (template.format(colour=colour.value), index)
    for kind in TABLETOP_TASKS for template in PHRASINGS[kind]
    for index, colour in enumerate(Colour))
#: The task names ``task_pointing_prompts`` knows (``vla-ros demos --task`` and ``eval --task``).
POINTING_TASKS: tuple[str, ...] = (
    *(kind.value for kind in TaskKind), *(kind.value for kind in bimanual_tasks.BimanualTaskKind),
    humanoid_tasks.HAND_REACH_TASK)
#: The names ``tasks.PHRASINGS[TaskKind.PLACE]`` give the pad; ``place`` scenes label each with
#: the pad's (x, y) (``tasks.task_objects``).
PLACE_TARGET_PROMPTS: tuple[str, ...] = (
    'the yellow square', 'the yellow pad', 'the yellow target')


def task_pointing_prompts(task: str) -> tuple[tuple[str, int], ...]:
    """(instruction, index of the object it names) for every phrasing of ``task``.

    Every colour, and on the two-armed robots every side (``bimanual_tasks.Side``) or hand
    (``humanoid_tasks.Hand``), in each template; the index is the colour's in ``Colour``.
    ``place`` adds ``PLACE_TARGET_PROMPTS``, labelled with the pad's index in
    ``tasks.task_objects``.

    Raises:
        ConfigError: a task not in ``POINTING_TASKS``.
    """
    if task == humanoid_tasks.HAND_REACH_TASK:
        return tuple((template.format(colour=colour.value, hand=hand.value), index)
                     for template in humanoid_tasks.PHRASINGS for hand in humanoid_tasks.Hand
                     for index, colour in enumerate(Colour))
    if task in {kind.value for kind in bimanual_tasks.BimanualTaskKind}:
        templates = bimanual_tasks.PHRASINGS[bimanual_tasks.BimanualTaskKind(task)]
        return tuple((template.format(colour=colour.value, side=side.value), index)
                     for template in templates
                     for side in bimanual_tasks.Side for index, colour in enumerate(Colour))
    if task in {kind.value for kind in TaskKind}:
        cubes = tuple((template.format(colour=colour.value), index)
                      for template in PHRASINGS[TaskKind(task)]
                      for index, colour in enumerate(Colour))
        if task != TaskKind.PLACE.value:
            return cubes
        pad = task_objects(TaskKind.PLACE).index(TARGET_NAME)
        return cubes + tuple((text, pad) for text in PLACE_TARGET_PROMPTS)
    raise ConfigError(f'pointing scenes: task {task!r}, expected one of {list(POINTING_TASKS)!r}')


def render_pointing_scenes(*, mjcf_path: Path, cameras: Sequence[CameraConfig], count: int,
                           seed: int, on_scene: Callable[[int], None] | None = None,
                           ) -> PointingSet:
    """Render ``count`` tabletop scenes with seeds ``seed``, ``seed + 1``, ... and label the cubes.

    Raises:
        ConfigError: a count below 1 or cameras of different sizes.
    """
    _check_count(count)
    with TabletopSim(mjcf_path, seed=seed) as sim:
        return _render(sim, cameras=cameras, count=count, seed=seed, prompts=POINTING_PROMPTS,
                       on_scene=on_scene, objects=task_objects(TaskKind.REACH))


def render_task_pointing_scenes(*, sim_config: SimConfig, task: str,
                                cameras: Sequence[CameraConfig], count: int, seed: int,
                                on_scene: Callable[[int], None] | None = None) -> PointingSet:
    """Render ``count`` scenes of ``sim_config`` (seeds ``seed``, ...) with ``task``'s prompts.

    Args:
        sim_config: the scene and its bindings (``VlaConfig.sim``).
        task: whose phrasings are the prompts (``POINTING_TASKS``).
        cameras: the cameras to render, at their configured sizes (``embodiment.cameras``).
        count: how many scenes.
        seed: the first scene seed.
        on_scene: called with the scene's index after each scene.

    Raises:
        ConfigError: an unknown task, a count below 1, cameras of different sizes, or a scene
            without the cubes the task names (``sim.objects``).
    """
    prompts = task_pointing_prompts(task)
    _check_count(count)
    objects = _object_names(task)
    with MujocoSim(sim_config, seed=seed) as sim:
        missing = [name for name in objects if name not in sim.object_names]
        if missing:
            raise ConfigError(f'pointing scenes for {task!r}: sim.objects '
                              f'{list(sim.object_names)!r} lack {missing!r}')
        return _render(sim, cameras=cameras, count=count, seed=seed, prompts=prompts,
                       on_scene=on_scene, objects=objects)


def _object_names(task: str) -> tuple[str, ...]:
    """The objects ``task``'s prompts name: the tabletop task's, else the cubes."""
    kind = TaskKind.PLACE if task == TaskKind.PLACE.value else TaskKind.REACH
    return task_objects(kind)


def _check_count(count: int) -> None:
    """ConfigError unless ``count >= 1``."""
    if count < 1:
        raise ConfigError(f'pointing scenes: {count!r}, expected >= 1')


def _render(sim: MujocoSim, *, cameras: Sequence[CameraConfig], count: int, seed: int,
            prompts: tuple[tuple[str, int], ...],
            on_scene: Callable[[int], None] | None, objects: tuple[str, ...]) -> PointingSet:
    """Reset ``sim`` with each seed, render ``cameras`` and label each of ``objects``."""
    sizes = {(camera.observed_height, camera.observed_width) for camera in cameras}
    if len(sizes) != 1:  # (what the policy sees: a camera's crop where it has one)
        raise ConfigError(f'pointing scenes: cameras of sizes {sorted(sizes)!r}, expected one')
    height, width = sizes.pop()
    images = np.zeros((count, len(cameras), height, width, 3), dtype=np.uint8)
    positions = np.zeros((count, len(objects), 2), dtype=np.float32)
    for index in range(count):
        sim.reset(seed + index)
        for slot, camera in enumerate(cameras):
            images[index, slot] = camera.observed(
                sim.render(camera.name, camera.width, camera.height))
        where = sim.object_positions()
        positions[index] = [where[name][:2] for name in objects]
        if on_scene is not None:
            on_scene(index)
    return PointingSet(images=images, positions=positions,
                       camera_names=tuple(camera.name for camera in cameras),
                       object_names=objects, prompts=prompts)
