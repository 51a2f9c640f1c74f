# SPDX-License-Identifier: Apache-2.0
# Copyright 2026 The vla_ros authors
"""Make a tiny ``fast`` checkpoint with random weights, for tests and set-up scripts.

The model and text tokenizer are the ``tokens`` family's (``tokens/checkpoint.new_vlm``); the
FAST tokenizer is fitted on seeded synthetic chunks (smooth random walks in [-1, 1]), so the
same arguments write the same files and nothing is downloaded. A random model rarely emits a
well-formed FAST sequence: this checkpoint exercises loading, decoding and the malformed-output
path, not a skill.

``vla-ros random-checkpoint --family fast --out DIR`` writes one for the default robot.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
from numpy.typing import NDArray

from vla_ros.policies.base import PolicySpec
from vla_ros.policies.default_robot import DEFAULT_HOME_POSITIONS, DEFAULT_SPEC
from vla_ros.policies.fast.config import FastPolicyConfig
from vla_ros.policies.fast.fast_tokenizer import FastTokenizer
from vla_ros.policies.fast.model import save_checkpoint
from vla_ros.policies.tokens.checkpoint import home_pose_normalization, new_vlm
from vla_ros.policies.tokens.config import TokenNormalization
from vla_ros.policies.tokens.vlm import VlmSize

__all__ = ['create_random_checkpoint', 'synthetic_chunks']


def synthetic_chunks(spec: PolicySpec, *, count: int = 64, seed: int = 0) -> NDArray[np.float64]:
    """``count`` smooth normalized chunks (count, T, J) in [-1, 1]: seeded random walks."""
    rng = np.random.default_rng(seed)
    shape = (count, spec.chunk_length, len(spec.joint_names))
    start = rng.uniform(-0.5, 0.5, (count, 1, shape[2]))
    walks = start + np.cumsum(rng.normal(0.0, 0.05, shape), axis=1)
    return np.clip(walks, -1.0, 1.0)


def create_random_checkpoint(out_dir: Path, spec: PolicySpec = DEFAULT_SPEC, *, seed: int = 0,
                             normalization: TokenNormalization | None = None,
                             size: VlmSize | None = None, fast_vocab_size: int = 128,
                             max_new_tokens: int | None = None,
                             length_constrained: bool = False) -> Path:
    """Write a tiny random-weight ``fast`` checkpoint for ``spec`` into ``out_dir``.

    Args:
        out_dir: directory to write; created if missing, files of the same name replaced.
        spec: the contract; square images with a side the patch size divides.
        seed: seeds the weights and the synthetic chunks; the same seed writes the same files.
        normalization: statistics to store; by default a box around the home pose.
        size: widths and depths; ``VlmSize()`` when None.
        fast_vocab_size: FAST ids, coefficient symbols included.
        max_new_tokens: decoding budget; by default chunk_length * joints + 1, the most a
            well-formed chunk can need (every FAST id stands for at least one coefficient).
        length_constrained: store length-constrained decoding (``FastPolicyConfig``).

    Returns:
        ``out_dir``.

    Raises:
        ConfigError: an invalid spec, statistics that do not fit it, or a FAST vocabulary
            smaller than its coefficient alphabet.
    """
    if normalization is None:
        home = DEFAULT_HOME_POSITIONS if len(DEFAULT_HOME_POSITIONS) == len(
            spec.joint_names) else (0.0,) * len(spec.joint_names)
        normalization = home_pose_normalization(home)
    budget = max_new_tokens or spec.chunk_length * len(spec.joint_names) + 1
    config = FastPolicyConfig(spec=spec, normalization=normalization, max_new_tokens=budget,
                              length_constrained=length_constrained)
    fast_tokenizer = FastTokenizer.fit(synthetic_chunks(spec, seed=seed),
                                       vocab_size=fast_vocab_size)
    model, tokenizer = new_vlm(spec, action_vocab_size=fast_tokenizer.vocab_size, size=size,
                               seed=seed, state_bins=config.state_bins)
    return save_checkpoint(out_dir, model, tokenizer, fast_tokenizer, config)
