# SPDX-License-Identifier: Apache-2.0
# Copyright 2026 The vla_ros authors
"""Make a small diffusion checkpoint with random weights, for tests, simulation and set-up.

The network is the real one (``model.DiffusionNetwork``) at the given sizes, seeded; the
tokenizer is built from ``processor.BASE_CORPUS``. Nothing is downloaded, and the same
arguments write the same files. The default statistics map the model's clipped [-1, 1]
action space onto home +- ``motion_rad``, so a random policy commands positions near home.

``vla-ros random-checkpoint --family diffusion --out DIR`` writes one for the default robot
(``vla_ros.policies.default_robot``).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import replace
from pathlib import Path

from vla_ros.core.normalization import NormMode, ZScoreStats
from vla_ros.policies.base import PolicySpec
from vla_ros.policies.default_robot import home_band, per_joint
from vla_ros.policies.diffusion.config import (
    Architecture,
    DiffusionPolicyConfig,
    FeatureNormalization,
    NoiseSchedule,
    Normalization,
    Sampling,
)
from vla_ros.policies.diffusion.model import build_network, save_checkpoint
from vla_ros.policies.diffusion.processor import build_tokenizer, DiffusionProcessor

__all__ = ['DEFAULT_MOTION', 'create_random_checkpoint', 'home_pose_normalization']


#: Action band of the default robot: 0.1 rad per arm joint, 4 mm for the gripper.
DEFAULT_MOTION = (0.1, 0.1, 0.1, 0.1, 0.1, 0.1, 0.004)


def home_pose_normalization(home_positions: Sequence[float],
                            motion_rad: float | Sequence[float] = 0.1) -> Normalization:
    """Statistics that keep a random policy within ``motion_rad`` of a home pose.

    Actions: quantile statistics q01 = home - motion, q99 = home + motion, so the clipped
    model space [-1, 1] spans that band. State: z-scores around home with std 5 * motion.

    Args:
        home_positions: (J,) home pose, rad (m for prismatic joints).
        motion_rad: half-width of the band, one value for all joints or one per joint.

    Raises:
        ConfigError: ``motion_rad`` has the wrong length or a value <= 0.
    """
    home = tuple(float(value) for value in home_positions)
    motion = per_joint(motion_rad, len(home), 'motion_rad')
    return Normalization(
        state=FeatureNormalization(NormMode.ZSCORE, ZScoreStats(
            mean=home, std=tuple(5.0 * value for value in motion))),
        actions=FeatureNormalization(NormMode.QUANTILE, home_band(home, motion)))


def create_random_checkpoint(out_dir: Path, spec: PolicySpec, *, seed: int = 0,
                             home_positions: Sequence[float] | None = None,
                             motion_rad: float | Sequence[float] = 0.1,
                             architecture: Architecture | None = None,
                             schedule: NoiseSchedule | None = None,
                             sampling: Sampling | None = None) -> Path:
    """Write a random-weight diffusion checkpoint for ``spec`` into ``out_dir``.

    Args:
        out_dir: directory to write; created if missing, files of the same name replaced.
        spec: the contract; image sides must be multiples of 4.
        seed: seeds the weights and the stored sampling-noise seed.
        home_positions: (J,) home pose for the statistics; zeros when None.
        motion_rad: half-width of the action band around home, rad (m for prismatic
            joints): one value, or one per joint.
        architecture: network sizes (``vocab_size`` is set from the tokenizer); the default
            ``Architecture()`` when None.
        schedule: the noise schedule; ``NoiseSchedule()`` when None.
        sampling: the sampler; ``Sampling()`` when None (its seed becomes ``seed``).

    Returns:
        ``out_dir``.

    Raises:
        ConfigError: an invalid spec or setting.
    """
    architecture = architecture or Architecture()
    home = home_positions if home_positions is not None else (0.0,) * len(spec.joint_names)
    tokenizer = build_tokenizer((), max_tokens=architecture.max_text_tokens)
    config = DiffusionPolicyConfig(
        spec=spec, normalization=home_pose_normalization(home, motion_rad),
        architecture=replace(architecture, vocab_size=tokenizer.get_vocab_size()),
        schedule=schedule or NoiseSchedule(),
        sampling=replace(sampling or Sampling(), noise_seed=seed))
    network = build_network(config, seed=seed)
    return save_checkpoint(Path(out_dir), config, DiffusionProcessor(config, tokenizer), network)
