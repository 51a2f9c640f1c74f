# SPDX-License-Identifier: Apache-2.0
# Copyright 2026 The vla_ros authors
"""`vla-ros random-checkpoint`: write a small random-weight checkpoint of a policy family.

For tests, experiments and a robot's first bring-up: the policy commands small motions around
``--home`` (``flow`` and ``diffusion``; the token families around zero), so a new embodiment
can run the whole loop before any training. Nothing is downloaded and the same options write
the same files. ``scripts/setup`` makes ``checkpoints/flow/random`` and
``checkpoints/flow/aloha_random`` with it. Options a family does not read (``--home``,
``--motion``, ``--denoising-steps`` for ``tokens`` and ``fast``) are refused, never ignored.
"""

from __future__ import annotations

import argparse
from collections.abc import Sequence
from pathlib import Path

from vla_ros.core.errors import ConfigError
from vla_ros.core.policy import PolicySpec
from vla_ros.core.policy_family import PolicyFamily
from vla_ros.policies.default_robot import DEFAULT_HOME_POSITIONS, DEFAULT_SPEC

__all__ = ['RANDOM_FAMILIES', 'add_arguments', 'run']

#: Families with a random checkpoint maker (``vla_ros.policies.<family>.checkpoint``).
RANDOM_FAMILIES = (PolicyFamily.FLOW, PolicyFamily.DIFFUSION, PolicyFamily.TOKENS,
                   PolicyFamily.FAST)
#: Options that only the families with home-pose statistics and a denoising sampler read.
_MOTION_OPTIONS = ('home', 'motion', 'denoising_steps')


def add_arguments(parser: argparse.ArgumentParser) -> None:
    """Declare the verb's options."""
    parser.add_argument('--family', choices=[family.value for family in RANDOM_FAMILIES],
                        default=PolicyFamily.FLOW.value, help='policy family of the checkpoint')
    parser.add_argument('--out', type=Path, required=True, metavar='CHECKPOINT_DIR',
                        help='directory to write')
    parser.add_argument('--seed', type=int, default=0, help='weights and noise seed')
    parser.add_argument('--joints', nargs='+', default=list(DEFAULT_SPEC.joint_names))
    parser.add_argument('--cameras', nargs='+', default=list(DEFAULT_SPEC.camera_names))
    parser.add_argument('--image-size', type=int, default=DEFAULT_SPEC.image_height,
                        help='side of the square camera images, pixels')
    parser.add_argument('--chunk-length', type=int, default=DEFAULT_SPEC.chunk_length)
    parser.add_argument('--dt-s', type=float, default=DEFAULT_SPEC.dt_s,
                        help='time between chunk steps, seconds')
    parser.add_argument('--home', type=float, nargs='+',
                        help='home pose, rad (m for prismatic joints), one per joint '
                             "(default: the default robot's; flow, diffusion)")
    parser.add_argument('--motion', type=float, nargs='+',
                        help='motion around home, one value or one per joint: the action std '
                             '(flow) or the half-width of the action band (diffusion), rad')
    parser.add_argument('--denoising-steps', type=int,
                        help="sampler steps (default: the family's; flow, diffusion)")


def run(args: argparse.Namespace) -> int:
    """Write the checkpoint; returns the exit code.

    Raises:
        ConfigError: an invalid spec or statistics, or an option the family does not read.
    """
    spec = PolicySpec(joint_names=tuple(args.joints), camera_names=tuple(args.cameras),
                      image_height=args.image_size, image_width=args.image_size,
                      chunk_length=args.chunk_length, dt_s=args.dt_s)
    out_dir = Path(args.out)
    family = PolicyFamily(args.family)
    if family in (PolicyFamily.TOKENS, PolicyFamily.FAST):
        given = [name for name in _MOTION_OPTIONS if getattr(args, name) is not None]
        if given:
            raise ConfigError(f'--{given[0].replace("_", "-")}: the {family.value!r} family '
                              'does not read it; remove it')
    home = DEFAULT_HOME_POSITIONS if args.home is None else tuple(args.home)
    written = _write(family, out_dir, spec, seed=args.seed, home=home,
                     motion=args.motion, denoising_steps=args.denoising_steps)
    print(f'wrote a random {family} checkpoint to {written}')
    return 0


def _write(family: PolicyFamily, out_dir: Path, spec: PolicySpec, *, seed: int,
           home: Sequence[float], motion: Sequence[float] | None,
           denoising_steps: int | None) -> Path:
    """Run the family's ``create_random_checkpoint`` (imported here: torch loads only now)."""
    one_or_each = None if motion is None else (motion[0] if len(motion) == 1 else motion)
    if family is PolicyFamily.FLOW:
        from vla_ros.policies.default_robot import DEFAULT_MOTION_STD
        from vla_ros.policies.flow import checkpoint as flow

        return flow.create_random_checkpoint(
            out_dir, spec, seed=seed, home_positions=home,
            motion_std=DEFAULT_MOTION_STD if one_or_each is None else one_or_each,
            num_denoising_steps=10 if denoising_steps is None else denoising_steps)
    if family is PolicyFamily.DIFFUSION:
        from vla_ros.policies.diffusion import checkpoint as diffusion
        from vla_ros.policies.diffusion.config import Sampling

        return diffusion.create_random_checkpoint(
            out_dir, spec, seed=seed, home_positions=home,
            motion_rad=diffusion.DEFAULT_MOTION if one_or_each is None else one_or_each,
            sampling=Sampling() if denoising_steps is None else Sampling(
                steps=denoising_steps))
    if family is PolicyFamily.TOKENS:
        from vla_ros.policies.tokens import checkpoint as tokens

        return tokens.create_random_checkpoint(out_dir, spec, seed=seed)
    from vla_ros.policies.fast import checkpoint as fast

    return fast.create_random_checkpoint(out_dir, spec, seed=seed)
