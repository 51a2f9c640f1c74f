# SPDX-License-Identifier: Apache-2.0
# Copyright 2026 The vla_ros authors
"""`vla-ros demos`: record scripted-expert demonstrations of a task to a dataset directory.

Runs in this process, without ROS: the MuJoCo scene of the config's ``sim.mjcf``, the cameras
of ``embodiment.cameras`` at their configured sizes. See ``vla_ros.sim.demonstrations`` for
the files written.
"""

from __future__ import annotations

import argparse
from pathlib import Path
import time
from typing import TYPE_CHECKING

from vla_ros.cli.config_path import add_config_argument, load_sim_config
from vla_ros.core.errors import ConfigError

if TYPE_CHECKING:
    from vla_ros.core.policy import Policy

__all__ = ['add_arguments', 'run']


def add_arguments(parser: argparse.ArgumentParser) -> None:
    """Declare the verb's options."""
    add_config_argument(parser)
    parser.add_argument('--task', choices=('reach', 'lift', 'place', 'side_reach', 'handover',
                                           'hand_reach'),
                        required=True, help='reach, lift, place: the tabletop arm (place: with '
                        'config/tabletop_arm_place.yaml); side_reach, '
                        'handover: the ALOHA rig (vla_ros.sim.bimanual_demonstrations); '
                        'hand_reach: the humanoid (vla_ros.sim.humanoid_demonstrations, '
                        'the commanded joints only)')
    parser.add_argument('--episodes', type=int, default=10, help='how many episodes')
    parser.add_argument('--seed', type=int, default=0,
                        help='scene seed of the first episode; episode i uses seed + i')
    parser.add_argument('--out', type=Path, required=True, help='dataset directory to write')
    parser.add_argument('--missed-grasp', action='store_true',
                        help='lift, place: each episode first closes the gripper beside or '
                        'above the cube and raises it empty (not recorded); what is recorded '
                        'is the expert reopening and grasping again (vla_ros.sim.missed_grasp)')
    parser.add_argument('--near-miss', action='store_true',
                        help='lift, place: each episode first descends with the gripper open '
                        "1.5-3.5 cm off the cube's centre (not recorded); what is recorded is "
                        'the expert backing off and coming down again centred')
    parser.add_argument('--action-noise', type=float, default=0.0, metavar='RAD',
                        help='hand_reach: add Gaussian noise of this standard deviation to '
                        'the targets executed on the commanded joints each step, while the '
                        "recorded actions stay the expert's (DART: states off its path, "
                        'labelled with its way back; default 0, none)')
    parser.add_argument('--dagger', type=Path, default=None, metavar='CHECKPOINT_DIR',
                        help='reach, lift, place, side_reach, hand_reach: the policy in '
                        'CHECKPOINT_DIR '
                        'drives the robot (a chunk every --horizon steps) and the expert '
                        'labels every state it visits (DAgger); the episodes are kept for '
                        'training whether the policy succeeded or not')
    parser.add_argument('--family', default='flow',
                        help="--dagger: the checkpoint's policy family (default flow)")
    parser.add_argument('--horizon', type=int, default=None, metavar='STEPS',
                        help='--dagger: chunk rows executed per inference (default: the '
                        "config's execution.horizon)")


def _driver(args: argparse.Namespace) -> Policy | None:
    """The policy of ``--dagger`` (one thread), or None."""
    if args.dagger is None:
        return None
    from vla_ros.policies.registry import load_policy

    return load_policy(args.family, args.dagger, threads=1)


def run(args: argparse.Namespace) -> int:
    """Record the episodes; exit 0 when the expert succeeded in every one."""
    from vla_ros.sim.demonstrations import Demonstration, record_demonstrations
    from vla_ros.sim.tasks import TaskKind

    if args.episodes < 1 or args.seed < 0:
        raise ConfigError(f'--episodes {args.episodes} --seed {args.seed}: expected episodes '
                          '>= 1 and seed >= 0')
    for flag, chosen in (('--missed-grasp', args.missed_grasp), ('--near-miss', args.near_miss)):
        if chosen and args.task not in ('lift', 'place'):
            raise ConfigError(f'{flag}: the {args.task!r} task has no grasp to miss; it '
                              'applies to lift and place')
    if args.action_noise != 0.0 and args.task != 'hand_reach':
        raise ConfigError(f'--action-noise: applies to hand_reach, not {args.task!r}')
    if not args.action_noise >= 0.0:
        raise ConfigError(f'--action-noise {args.action_noise}: expected >= 0 (radians)')
    if args.dagger is not None and args.task == 'handover':
        raise ConfigError("--dagger: applies to reach, lift, place, side_reach and hand_reach, "
                          "not 'handover'")
    if args.dagger is not None and (args.missed_grasp or args.near_miss):
        raise ConfigError('--dagger: a driven episode starts from the reset, not from a '
                          'missed grasp or a near miss')
    if args.dagger is not None and args.action_noise != 0.0:
        raise ConfigError("--dagger and --action-noise: choose one way off the expert's path")
    if args.horizon is not None and (args.dagger is None or args.horizon < 1):
        raise ConfigError(f'--horizon {args.horizon}: applies to --dagger, as an integer >= 1')
    if args.missed_grasp and args.near_miss:
        raise ConfigError('--missed-grasp and --near-miss: a recovery starts from one of them')
    config, sim = load_sim_config(args.config, needed_for='demonstrations')
    successes = 0
    steps = 0
    started = time.monotonic()

    def progress(index: int, demonstration: Demonstration) -> None:
        nonlocal successes, steps
        successes += int(demonstration.success)
        steps += demonstration.length
        print(f'\rvla-ros demos: {index + 1}/{args.episodes} episodes, {successes} successful, '
              f'{steps} steps, {time.monotonic() - started:.0f} s', end='', flush=True)

    if args.task in ('side_reach', 'handover'):
        from vla_ros.sim.bimanual_demonstrations import record_bimanual_demonstrations
        from vla_ros.sim.bimanual_tasks import BimanualTaskKind

        paths = record_bimanual_demonstrations(
            sim_config=sim, task=BimanualTaskKind(args.task), count=args.episodes,
            seed=args.seed, cameras=config.embodiment.cameras, out_dir=args.out,
            on_episode=progress, driver=_driver(args),
            horizon=args.horizon or config.execution.horizon)
    elif args.task == 'hand_reach':
        from vla_ros.sim.humanoid_demonstrations import record_hand_reach_demonstrations

        embodiment = config.embodiment
        commanded = {joint for joints in embodiment.controllers.values() for joint in joints}
        paths = record_hand_reach_demonstrations(
            sim_config=sim, controllers=embodiment.controllers,
            joint_names=[joint for joint in embodiment.joints if joint in commanded],
            count=args.episodes, seed=args.seed, cameras=embodiment.cameras,
            out_dir=args.out, on_episode=progress, action_noise_rad=args.action_noise,
            driver=_driver(args), horizon=args.horizon or config.execution.horizon)
    else:
        paths = record_demonstrations(
            mjcf_path=sim.mjcf, task=TaskKind(args.task), count=args.episodes,
            seed=args.seed, cameras=config.embodiment.cameras, out_dir=args.out,
            on_episode=progress, sim_config=sim, missed_grasp=args.missed_grasp,
            near_miss=args.near_miss, driver=_driver(args),
            horizon=args.horizon or config.execution.horizon)
    print()
    who = 'expert' if args.dagger is None else 'driving policy'
    print(f'vla-ros demos: wrote {len(paths)} episodes ({steps} steps) to {args.out.resolve()}; '
          f'{who} success {successes}/{len(paths)}')
    return 0 if successes == len(paths) or args.dagger is not None else 1
