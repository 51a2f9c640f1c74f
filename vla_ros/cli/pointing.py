# SPDX-License-Identifier: Apache-2.0
# Copyright 2026 The vla_ros authors
"""`vla-ros pointing`: render sim scenes labelled with each cube's position, for pre-training.

Runs in this process, without ROS: the MuJoCo scene of the config's ``sim.mjcf`` reset with
scene seeds ``--seed``, ``--seed + 1``, ..., seen by the config's cameras. The file feeds
``vla-ros train --pointing FILE``, which first teaches the policy's VLM to point at the cube
an instruction names (``vla_ros.policies.pointing``). See ``vla_ros.sim.pointing_scenes``.

Without ``--task`` the scene is the tabletop arm's and the prompts are the phrasings of reach
and lift (place needs its pad: ``--config config/tabletop_arm_place.yaml --task place``).
``--task`` names the task as ``vla-ros demos`` and ``vla-ros eval`` do; the scene is then the
config's ``sim`` section (any embodiment) and the prompts that task's phrasings, e.g.
``--config config/g1_reach.yaml --task hand_reach`` for the humanoid.
"""

from __future__ import annotations

import argparse
from pathlib import Path
import time

from vla_ros.cli.config_path import add_config_argument, load_sim_config
from vla_ros.core.errors import ConfigError

__all__ = ['add_arguments', 'run']


def add_arguments(parser: argparse.ArgumentParser) -> None:
    """Declare the verb's options."""
    add_config_argument(parser)
    parser.add_argument('--scenes', type=int, default=6000, help='how many scenes')
    parser.add_argument('--seed', type=int, default=40000,
                        help='scene seed of the first scene; scene i uses seed + i (keep them '
                             'apart from the evaluation seeds)')
    parser.add_argument('--out', type=Path, required=True, help='.npz file to write')
    parser.add_argument('--task', choices=('reach', 'lift', 'place', 'side_reach', 'handover',
                                           'hand_reach'),
                        default=None, help='whose phrasings are the prompts, as in vla-ros demos '
                        "and eval; the scene is then the config's sim section (default: the "
                        "tabletop arm's scene with the reach and lift phrasings)")


def run(args: argparse.Namespace) -> int:
    """Render the scenes and write the file; exit 0 when it was written."""
    from vla_ros.sim.pointing_scenes import render_pointing_scenes, render_task_pointing_scenes

    if args.scenes < 1 or args.seed < 0:
        raise ConfigError(f'--scenes {args.scenes} --seed {args.seed}: expected scenes >= 1 '
                          'and seed >= 0')
    config, sim = load_sim_config(args.config, needed_for='pointing scenes')
    started = time.monotonic()

    def progress(index: int) -> None:
        if (index + 1) % 100 == 0 or index + 1 == args.scenes:
            print(f'\rvla-ros pointing: {index + 1}/{args.scenes} scenes, '
                  f'{time.monotonic() - started:.0f} s', end='', flush=True)

    if args.task is None:
        _check_tabletop_scene(sim.mjcf)
        scenes = render_pointing_scenes(mjcf_path=sim.mjcf, cameras=config.embodiment.cameras,
                                        count=args.scenes, seed=args.seed, on_scene=progress)
    else:
        scenes = render_task_pointing_scenes(
            sim_config=sim, task=args.task, cameras=config.embodiment.cameras,
            count=args.scenes, seed=args.seed, on_scene=progress)
    print()
    args.out.parent.mkdir(parents=True, exist_ok=True)
    scenes.save(args.out)
    print(f'vla-ros pointing: wrote {len(scenes)} scenes, {len(scenes.prompts)} prompts, cameras '
          f'{", ".join(scenes.camera_names)} to {args.out.resolve()}')
    return 0


def _check_tabletop_scene(mjcf: Path) -> None:
    """ConfigError unless ``mjcf`` is a scene ``TabletopSim`` binds (the default, no --task)."""
    from vla_ros.sim.scene import TABLETOP_CONFIG

    if not (mjcf.resolve().parent.parent / TABLETOP_CONFIG).is_file():
        raise ConfigError(f"sim.mjcf {str(mjcf)!r} is not the tabletop arm's scene (no "
                          f'{str(TABLETOP_CONFIG)!r} binds it); name the task whose phrasings '
                          'the scenes ground with --task, as for vla-ros demos and eval '
                          '(e.g. --task hand_reach)')
