# SPDX-License-Identifier: Apache-2.0
# Copyright 2026 The vla_ros authors
"""`vla-ros train`: fit a policy of any family to demonstrations and write its checkpoint.

Reads a dataset directory written by `vla-ros demos` (``vla_ros.sim.demonstrations``) or a
LeRobot dataset written by `vla-ros export` (``vla_ros.data.lerobot_dataset``) and trains
the chosen family (``flow``, ``tokens``, ``fast`` or ``diffusion``) on this machine's CPU with
that family's ``vla_ros.policies.<family>.train``; ``train_families.TRAINERS`` maps the options
onto each family's ``TrainingConfig``. ``--steps``, ``--batch-size`` and ``--learning-rate``
default to the family's own values; the effective settings are printed before the data is
read. The checkpoint loads with ``policy.family: FAMILY`` and ``policy.checkpoint: OUT``
(``fast`` writes a LeRobot pi0_fast folder, which also needs ``policy.inputs`` and
``policy.outputs``: ``vla-ros inspect OUT`` prints them).
``--ee-deltas`` trains on the simulated arm's demonstrations rewritten as end-effector moves
from each observation (``vla_ros.sim.ee_demonstrations.ObservedEeChunks``, the kinematics of
``--config``'s scene); such a policy runs behind the matching ``action_space`` declaration.
``--joint-deltas`` (flow) trains on targets minus the observed joints
(``vla_ros.core.training_samples.ObservedJointDeltas``), to run behind a ``joint_delta`` one.
Every family draws a progress bar on stderr (``--no-progress`` hides it); the mean loss is
logged every ``--log-every`` steps.
"""

from __future__ import annotations

import argparse
import logging
from pathlib import Path
from typing import TYPE_CHECKING

from vla_ros.cli.config_path import add_config_argument, load_sim_config
from vla_ros.cli.train_families import prepare_run, RunOptions, TRAINERS
from vla_ros.core.errors import ConfigError
from vla_ros.core.policy_family import PolicyFamily

if TYPE_CHECKING:
    from collections.abc import Sequence

    from vla_ros.cli.train_families import PreparedRun
    from vla_ros.core.training_samples import SampleSource
    from vla_ros.data.lerobot_dataset import LeRobotTrainingDataset
    from vla_ros.sim.demonstrations import DemonstrationDataset
    from vla_ros.sim.ee_demonstrations import SiteKinematics

__all__ = ['TRAINABLE_FAMILIES', 'add_arguments', 'run']

#: Families this verb can train.
TRAINABLE_FAMILIES = tuple(TRAINERS)


def add_arguments(parser: argparse.ArgumentParser) -> None:
    """Declare the verb's options."""
    parser.add_argument('--family', choices=[family.value for family in TRAINABLE_FAMILIES],
                        default=PolicyFamily.FLOW.value, help='policy family to train')
    parser.add_argument('--data', type=Path, required=True, nargs='+', metavar='DIR',
                        help='dataset directories written by vla-ros demos or vla-ros export '
                             '(several are read as one)')
    parser.add_argument('--out', type=Path, required=True, metavar='CHECKPOINT_DIR',
                        help='checkpoint directory to write')
    parser.add_argument('--steps', type=int, help="optimizer steps (default: the family's)")
    parser.add_argument('--batch-size', type=int,
                        help="samples per step (default: the family's)")
    parser.add_argument('--seed', type=int, default=0,
                        help='seeds weights, batch order, training noise and sampling noise')
    parser.add_argument('--learning-rate', type=float,
                        help="peak AdamW rate (default: the family's)")
    parser.add_argument('--chunk-length', type=int, default=10,
                        help='action steps per chunk the policy predicts')
    parser.add_argument('--log-every', type=int, default=100, metavar='N',
                        help='log the mean loss every N steps')
    parser.add_argument('--threads', type=int, default=1,
                        help='torch CPU threads (results repeat for the same count)')
    parser.add_argument('--no-progress', action='store_true',
                        help='hide the progress bar')
    parser.add_argument('--length-constrained', action='store_true',
                        help='fast only: store length-constrained decoding, so every decoded '
                             'token sequence is a whole chunk')
    parser.add_argument('--pointing', type=Path, metavar='FILE',
                        help='flow, tokens, fast: first pre-train the VLM to point at the '
                             'named cube in these scenes (written by vla-ros pointing)')
    parser.add_argument('--pointing-steps', type=int, metavar='N',
                        help='steps of that pointing pre-training (default 3000)')
    parser.add_argument('--pointing-weight', type=float, metavar='W',
                        help='flow, tokens, fast: keep training on the pointing scenes during the '
                             'action training, their loss weighted by W (co-training; '
                             'default 0, none)')
    parser.add_argument('--pointing-readout', choices=('output', 'attended'),
                        help="flow: where pointing reads the VLM: its final hidden state "
                             "(output, the default) or the input of its last layer, which the "
                             "action expert's last layer attends to (attended)")
    parser.add_argument('--pointed-state', action='store_true',
                        help="flow: give the action expert the model's own point at the named "
                             'object: the pointing head (co-trained, so --pointing-weight > 0) '
                             'on the VLM fills two state slots after the joints, in training '
                             'and at every inference')
    parser.add_argument('--point-at', action='append', default=[], metavar='TEXT',
                        help='flow, with --pointed-state: also point at TEXT (e.g. "the yellow '
                             'square"; the pointing set should label it), two more state slots '
                             'each; repeatable')
    parser.add_argument('--ee-deltas', action='store_true',
                        help="train on end-effector moves from the observed pose, computed "
                             "from the simulated arm's joint-space demonstrations with the "
                             "kinematics of --config's scene (run the policy with "
                             'action_space ee_delta, delta_reference: observation)')
    parser.add_argument('--joint-deltas', action='store_true',
                        help='flow: train on targets minus the observed joints (delta actions, '
                             "as openpi's ALOHA policies); run the policy behind an action_space "
                             'section that declares every controller joint_delta, '
                             'delta_reference: observation')
    parser.add_argument('--min-std', type=float, metavar='STD',
                        help='flow: floor of the stored standard deviations, robot units '
                             '(default 0.001); a larger floor keeps a joint that barely moves in '
                             'the demonstrations from turning small offsets into large inputs')
    add_config_argument(parser)
    parser.add_argument('--action-space', choices=('absolute', 'delta'),
                        help='tokens, fast: chunk rows as absolute joint targets or as '
                             "targets minus the observed joints (default: the family's)")
    parser.add_argument('--width', type=int, metavar='N',
                        help='flow: hidden size of the vision tower and the language model '
                             "(default 64; with --init, give the checkpoint's)")
    parser.add_argument('--expert-width', type=int, metavar='N',
                        help='flow: hidden size of the action expert (default 32; with '
                             "--init, give the checkpoint's)")
    parser.add_argument('--patch', type=int, metavar='PX', dest='patch_px',
                        help="flow: side of the vision tower's square patches, pixels (default: "
                             'the largest of 16, 8 and 4 that divides the image side); each '
                             'halving gives four times the image tokens')
    parser.add_argument('--init', type=Path, metavar='CHECKPOINT_DIR',
                        help='flow: start from this checkpoint (same model size, joints, '
                             'cameras and chunk length) instead of random weights: fine-tune '
                             'it on --data; its vision tower stays frozen')


def _load_dataset(data: Path, chunk_length: int) -> DemonstrationDataset | LeRobotTrainingDataset:
    """The samples in ``data``: a LeRobot dataset or simulated demonstrations."""
    from vla_ros.data.lerobot_dataset import LeRobotTrainingDataset
    from vla_ros.data.lerobot_reader import is_lerobot_dataset
    from vla_ros.sim.demonstrations import DemonstrationDataset

    if is_lerobot_dataset(data):  # recorded on a robot and exported (`vla-ros export`)
        return LeRobotTrainingDataset(data, chunk_length=chunk_length)
    return DemonstrationDataset(data, chunk_length=chunk_length)  # `vla-ros demos`


def _concatenated(datasets: Sequence[SampleSource]) -> SampleSource:
    """One dataset as it is; several read as one, in order."""
    from vla_ros.core.training_samples import ConcatenatedSamples

    return datasets[0] if len(datasets) == 1 else ConcatenatedSamples(datasets)


def _settings_line(family: PolicyFamily, prepared: PreparedRun, chunk_length: int) -> str:
    """The effective settings of the run, one line."""
    settings = prepared.settings
    return (f'vla-ros train: {family}: steps {settings.steps}, batch size {settings.batch_size}, '
            f'learning rate {settings.learning_rate:g}, seed {settings.seed}, chunk length '
            f'{chunk_length}, log every {settings.log_every}, threads {settings.torch_threads}, '
            f'progress bar {"on" if prepared.shows_progress else "off"}')


def _site_kinematics(config_path: Path | None) -> SiteKinematics:
    """Forward kinematics of the config's simulated arm, for ``--ee-deltas``."""
    from vla_ros.sim.ee_demonstrations import SiteKinematics

    _, sim = load_sim_config(config_path, needed_for='--ee-deltas')
    return SiteKinematics(sim.mjcf)


def _action_space(args: argparse.Namespace) -> str | None:
    """``--action-space``; with ``--ee-deltas``, absolute for the families that take it.

    End-effector rows already count from the observed pose: a family with relative rows must
    take them as they are, not subtract joint positions from them.
    """
    chosen: str | None = args.action_space
    if args.joint_deltas and args.ee_deltas:
        raise ConfigError('--joint-deltas with --ee-deltas: choose one action space')
    if not args.ee_deltas:
        return chosen
    if chosen == 'delta':
        raise ConfigError('--ee-deltas with --action-space delta: the rows already count from '
                          'the observed pose; joint positions must not be subtracted from them')
    trainer = TRAINERS.get(args.family)
    return 'absolute' if trainer and 'action_space' in trainer.own_options else chosen


def run(args: argparse.Namespace) -> int:
    """Train and write the checkpoint; exit 0 when it was written."""
    if args.chunk_length < 1:
        raise ConfigError(f'--chunk-length {args.chunk_length}: expected >= 1')
    family = PolicyFamily(args.family)
    prepared = prepare_run(family, RunOptions(
        steps=args.steps, batch_size=args.batch_size, learning_rate=args.learning_rate,
        seed=args.seed, log_every=args.log_every, threads=args.threads,
        progress=not args.no_progress, length_constrained=args.length_constrained,
        pointing=args.pointing, pointing_steps=args.pointing_steps,
        pointing_weight=args.pointing_weight,
        action_space=_action_space(args), init=args.init, width=args.width,
        expert_width=args.expert_width, joint_deltas=args.joint_deltas,
        patch_px=args.patch_px, pointing_readout=args.pointing_readout,
        pointed_state=args.pointed_state, point_at=tuple(args.point_at),
        min_std=args.min_std))
    print(_settings_line(family, prepared, args.chunk_length), flush=True)
    kinematics = _site_kinematics(args.config) if args.ee_deltas else None
    datasets = [_load_dataset(data, args.chunk_length) for data in args.data]
    for data, dataset in zip(args.data, datasets, strict=True):
        if not dataset.episodes:
            raise ConfigError(f'{data}: no successful episode to learn from')
    steps_s = {episode.dt_s for dataset in datasets for episode in dataset.episodes}
    if len(steps_s) != 1:
        raise ConfigError(f'--data: time steps {sorted(steps_s)!r} s, expected one for all')
    samples = _concatenated(datasets)
    if kinematics is not None:
        from vla_ros.sim.ee_demonstrations import ObservedEeChunks

        samples = ObservedEeChunks(samples, kinematics)
    if args.joint_deltas:
        from vla_ros.core.training_samples import ObservedJointDeltas

        samples = ObservedJointDeltas(samples)
    logging.basicConfig(level=logging.INFO, format='vla-ros train: %(message)s')
    episodes = sum(len(dataset.episodes) for dataset in datasets)
    print(f'vla-ros train: {family} on {episodes} episodes ({len(samples)} samples) '
          f'from {", ".join(str(data) for data in args.data)}'
          f'{"" if kinematics is None else ", as end-effector moves from the observation"}'
          f'{", as offsets from the observed joints" if args.joint_deltas else ""}',
          flush=True)
    result = prepared.train(samples, args.out, steps_s.pop())
    if result.pointing is not None:
        print(f'vla-ros train: pointing pre-training on {args.pointing}: held-out accuracy '
              f'{100 * result.pointing.accuracy:.0f} %, median error '
              f'{100 * result.pointing.median_error_m:.1f} cm')
    last = result.losses[-prepared.settings.log_every:]
    print(f'vla-ros train: {result.parameters} parameters, {len(result.losses)} steps in '
          f'{result.elapsed_s:.0f} s, loss {sum(last) / len(last):.4f} over the last '
          f'{len(last)} steps; wrote {result.checkpoint_dir.resolve()}')
    return 0
