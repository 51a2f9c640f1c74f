# SPDX-License-Identifier: Apache-2.0
# Copyright 2026 The vla_ros authors
"""Make a tiny ``fast`` checkpoint with random weights, for tests and set-up scripts.

It is the folder training writes (``pi0_fast_folder.py``, LeRobot's ``pi0_fast`` layout) with
a random model: the text tokenizer and the PaliGemma as ``train.py`` builds them, the FAST
tokenizer (released format) fitted on seeded synthetic chunks, QUANTILES statistics that keep
every chunk within ``motion_rad`` of a home pose. The same arguments write the same files and
nothing is downloaded. A random model rarely emits a well-formed chunk: this checkpoint
exercises loading, decoding and the malformed-output path, not a skill. Like any pi0_fast
folder it loads with the embodiment YAML's ``policy.inputs`` / ``policy.outputs`` (image keys
``observation.images.<camera>``).

``vla-ros random-checkpoint --family fast --out DIR`` writes one for the default robot.
"""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path

import numpy as np
from numpy.typing import NDArray

from vla_ros.policies.base import PolicySpec
from vla_ros.policies.default_robot import DEFAULT_HOME_POSITIONS, DEFAULT_SPEC
from vla_ros.policies.fast.lerobot_fast_policy import build_paligemma
from vla_ros.policies.fast.pi0_fast_folder import Pi0FastLayout, save_pi0_fast_folder
from vla_ros.policies.fast.released_tokenizer import ReleasedFastTokenizer
from vla_ros.policies.fast.train import (
    FAST_SKIP_TOKENS,
    model_shape,
    pi0_fast_text_tokenizer,
    TrainingConfig,
)
from vla_ros.policies.tokens.vlm import VlmSize

__all__ = ['create_random_checkpoint', 'synthetic_chunks']


def synthetic_chunks(spec: PolicySpec, *, count: int = 64, seed: int = 0) -> NDArray[np.float64]:
    """``count`` smooth normalized chunks (count, T, J) in [-1, 1]: seeded random walks."""
    rng = np.random.default_rng(seed)
    shape = (count, spec.chunk_length, len(spec.joint_names))
    start = rng.uniform(-0.5, 0.5, (count, 1, shape[2]))
    walks = start + np.cumsum(rng.normal(0.0, 0.05, shape), axis=1)
    return np.clip(walks, -1.0, 1.0)


def _band(home: Sequence[float], half_width: float) -> dict[str, NDArray[np.float32]]:
    centre = np.asarray(home, np.float32)
    return {'mean': centre, 'std': np.full_like(centre, half_width / 2),
            'min': centre - half_width, 'max': centre + half_width,
            'q01': centre - half_width, 'q99': centre + half_width}


def create_random_checkpoint(out_dir: Path, spec: PolicySpec = DEFAULT_SPEC, *, seed: int = 0,
                             home_positions: Sequence[float] | None = None,
                             motion_rad: float = 0.1, size: VlmSize | None = None,
                             fast_vocab_size: int = 512) -> Path:
    """Write a tiny random-weight ``fast`` folder for ``spec`` into ``out_dir``.

    Args:
        out_dir: directory to write; created if missing, files of the same name replaced.
        spec: the contract; square images with a side the patch size divides.
        seed: seeds the weights and the synthetic chunks; the same seed writes the same files.
        home_positions: (J,) centre of the statistics; the default robot's home (or zeros).
        motion_rad: half-width of the action band around home (the state's is 1.0).
        size: widths and depths; ``TrainingConfig().size`` when None.
        fast_vocab_size: FAST ids (at least the 256 byte-level symbols).

    Returns:
        ``out_dir``.

    Raises:
        ConfigError: an invalid spec or size, or a FAST vocabulary under 256.
    """
    joints = len(spec.joint_names)
    home = home_positions if home_positions is not None else (
        DEFAULT_HOME_POSITIONS if len(DEFAULT_HOME_POSITIONS) == joints else (0.0,) * joints)
    size = size or TrainingConfig().size
    fast = ReleasedFastTokenizer.fit(synthetic_chunks(spec, seed=seed),
                                     vocab_size=fast_vocab_size)
    tokenizer = pi0_fast_text_tokenizer([], fast_vocab_size=fast.vocab_size)
    shape = model_shape(spec, size, tokenizer.vocab_size)
    model = build_paligemma(shape, seed=seed, init_std=size.init_std)
    prefix = len(tokenizer.encode('Action: ', add_special_tokens=False))
    layout = Pi0FastLayout(
        cameras=spec.camera_names, image_px=spec.image_height, state_dim=joints,
        action_dim=joints, chunk_length=spec.chunk_length,
        max_decoding_steps=prefix + 2 * spec.chunk_length * joints + 1,
        fast_skip_tokens=FAST_SKIP_TOKENS, state_mode='QUANTILES', action_mode='QUANTILES',
        state_stats=_band(home, 1.0), action_stats=_band(home, motion_rad))
    return save_pi0_fast_folder(out_dir, model, tokenizer, fast, layout=layout)
