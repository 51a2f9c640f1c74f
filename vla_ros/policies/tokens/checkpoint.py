# SPDX-License-Identifier: Apache-2.0
# Copyright 2026 The vla_ros authors
"""Make a tiny ``tokens`` checkpoint with random weights, for tests and set-up scripts.

The model is a real ``PaliGemmaForConditionalGeneration`` shrunk to well under a million
parameters, with a text tokenizer trained here (``vlm.py``); nothing is downloaded and the same
arguments write the same files. The default statistics map the bins onto a small box around
a home pose, so a random policy commands positions near home. ``new_vlm`` makes the same kind
of model and tokenizer for training (``train.py``) and for the ``fast`` family.

``vla-ros random-checkpoint --family tokens --out DIR`` writes one for the default robot.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from pathlib import Path

from transformers import PaliGemmaForConditionalGeneration, PreTrainedTokenizerFast

from vla_ros.core.errors import ConfigError
from vla_ros.policies.base import PolicySpec
from vla_ros.policies.default_robot import (
    DEFAULT_HOME_POSITIONS,
    DEFAULT_SPEC,
    home_band,
    per_joint,
)
from vla_ros.policies.tokens.config import ActionSpace, TokenNormalization, TokensPolicyConfig
from vla_ros.policies.tokens.model import save_checkpoint
from vla_ros.policies.tokens.vlm import build_text_tokenizer, build_vlm, IMAGE_TOKEN, VlmSize

__all__ = ['create_random_checkpoint', 'home_pose_normalization', 'new_vlm']


def home_pose_normalization(home_positions: Sequence[float], *, motion_rad: float = 0.1,
                            state_range_rad: float = 1.0) -> TokenNormalization:
    """Absolute-action statistics that keep every bin within ``motion_rad`` of a home pose.

    Args:
        home_positions: (J,) home pose, rad (m for prismatic joints).
        motion_rad: half-width of the action box around home.
        state_range_rad: half-width of the state box around home.

    Raises:
        ConfigError: a width <= 0.
    """
    if not (motion_rad > 0.0 and state_range_rad > 0.0):
        raise ConfigError(f'motion_rad {motion_rad!r}, state_range_rad {state_range_rad!r}: '
                          'expected > 0')
    home = [float(value) for value in home_positions]
    return TokenNormalization(
        state=home_band(home, per_joint(state_range_rad, len(home), 'state_range_rad')),
        actions=home_band(home, per_joint(motion_rad, len(home), 'motion_rad')),
        action_space=ActionSpace.ABSOLUTE)


def new_vlm(spec: PolicySpec, *, action_vocab_size: int, size: VlmSize | None = None,
            seed: int = 0, extra_texts: Iterable[str] = (), state_bins: int = 256,
            ) -> tuple[PaliGemmaForConditionalGeneration, PreTrainedTokenizerFast]:
    """A fresh text tokenizer and a tiny PaliGemma whose last ``action_vocab_size`` ids act.

    The tokenizer is trained on the built-in corpus, ``extra_texts`` and the state numbers.
    """
    tokenizer = build_text_tokenizer(extra_texts, number_count=state_bins)
    image_token_id = tokenizer.convert_tokens_to_ids(IMAGE_TOKEN)
    assert isinstance(image_token_id, int)
    model = build_vlm(spec, text_vocab_size=len(tokenizer), action_vocab_size=action_vocab_size,
                      image_token_id=image_token_id, size=size, seed=seed)
    return model, tokenizer


def create_random_checkpoint(out_dir: Path, spec: PolicySpec = DEFAULT_SPEC, *, seed: int = 0,
                             normalization: TokenNormalization | None = None,
                             size: VlmSize | None = None) -> Path:
    """Write a tiny random-weight ``tokens`` checkpoint for ``spec`` into ``out_dir``.

    Args:
        out_dir: directory to write; created if missing, files of the same name replaced.
        spec: the contract; square images with a side the patch size divides.
        seed: seeds the weights; the same seed writes the same files.
        normalization: statistics to store; by default a box around ``DEFAULT_HOME_POSITIONS``
            (zeros for a robot of another width).
        size: widths and depths; ``VlmSize()`` when None.

    Returns:
        ``out_dir``.

    Raises:
        ConfigError: an invalid spec or statistics that do not fit it.
    """
    if normalization is None:
        home = DEFAULT_HOME_POSITIONS if len(DEFAULT_HOME_POSITIONS) == len(
            spec.joint_names) else (0.0,) * len(spec.joint_names)
        normalization = home_pose_normalization(home)
    config = TokensPolicyConfig(spec=spec, normalization=normalization)
    model, tokenizer = new_vlm(spec, action_vocab_size=config.n_bins, size=size, seed=seed,
                               state_bins=config.state_bins)
    return save_checkpoint(out_dir, model, tokenizer, config)
