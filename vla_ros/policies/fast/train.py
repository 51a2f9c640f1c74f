# SPDX-License-Identifier: Apache-2.0
# Copyright 2026 The vla_ros authors
"""Train a tiny pi0-FAST-style (``fast``) policy on demonstrations; write its checkpoint.

As ``vla_ros.policies.tokens.train``, with FAST targets: the FAST tokenizer (DCT, scale and
round, BPE trained with the ``tokenizers`` library) is fitted on the training chunks after
normalization, and the model learns to emit each chunk's FAST ids and then the end token by
teacher-forced cross-entropy. The decoding budget stored with the checkpoint is
chunk_length * joints + 1, the most a well-formed chunk can need. The checkpoint loads with
``load_policy('fast', out_dir)``.

``vla-ros train --family fast`` calls ``train``.
"""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING

import numpy as np

from vla_ros.core.training_samples import dataset_spec, instructions_of
from vla_ros.policies.fast.config import FastPolicyConfig
from vla_ros.policies.fast.fast_tokenizer import DEFAULT_SCALE, FastTokenizer
from vla_ros.policies.fast.model import save_checkpoint
from vla_ros.policies.fast.processor import FastProcessor
from vla_ros.policies.tokens.checkpoint import new_vlm
from vla_ros.policies.tokens.config import TokenNormalization
from vla_ros.policies.tokens.pointing import pretrain
from vla_ros.policies.tokens.prompt import PromptEncoder
from vla_ros.policies.tokens.sequences import make_sequences, token_normalization
from vla_ros.policies.tokens.teacher_forcing import (
    fit_and_save,
    TrainingConfig,
    TrainingResult,
)
from vla_ros.policies.tokens.vlm import model_vocab_size

if TYPE_CHECKING:
    from vla_ros.core.pointing_set import PointingSet
    from vla_ros.core.training_samples import SampleSource
    from vla_ros.policies.base import PolicySpec

__all__ = ['DEFAULT_FAST_VOCAB_SIZE', 'TrainingConfig', 'fit_fast_tokenizer', 'train']

#: FAST ids of a trained policy, coefficient symbols included.
DEFAULT_FAST_VOCAB_SIZE = 256


def fit_fast_tokenizer(samples: SampleSource, spec: PolicySpec,
                       normalization: TokenNormalization, *, vocab_size: int,
                       scale: float) -> FastTokenizer:
    """Fit the FAST tokenizer on every sample's chunk, normalized as the model will see it."""
    chunks = []
    for index in range(len(samples)):
        sample = samples[index]
        positions = sample.observation.positions_for(spec.joint_names)
        chunks.append(normalization.normalize_actions(sample.actions, positions))
    return FastTokenizer.fit(np.stack(chunks), vocab_size=vocab_size, scale=scale)


def train(samples: SampleSource, out_dir: Path, *, dt_s: float,
          config: TrainingConfig | None = None, progress: bool = True,
          pointing: PointingSet | None = None, length_constrained: bool = False,
          fast_vocab_size: int = DEFAULT_FAST_VOCAB_SIZE,
          scale: float = DEFAULT_SCALE) -> TrainingResult:
    """Fit a tiny FAST-token VLM to ``samples`` and write the ``fast`` checkpoint to ``out_dir``.

    Args:
        samples: demonstrations (a ``DemonstrationDataset``); every chunk has the policy's
            chunk length.
        out_dir: checkpoint directory; created if missing, files of the same name replaced.
        dt_s: time between chunk rows, seconds.
        config: the run's settings; ``TrainingConfig()`` when None.
        progress: show a tqdm progress bar on stderr.
        pointing: scenes to pre-train the VLM on first (``vla_ros.policies.pointing``); None
            trains from random weights.
        fast_vocab_size: FAST ids, coefficient symbols included.
        scale: DCT coefficients are multiplied by this before rounding.
        length_constrained: store length-constrained decoding in the checkpoint.

    Raises:
        ConfigError: no samples, inconsistent samples or an invalid setting.
        InputError: an observation the prompt encoder refuses.
    """
    config = config or TrainingConfig()
    spec = dataset_spec(samples, dt_s=dt_s)
    normalization = token_normalization(samples, spec, config.action_space)
    fast_tokenizer = fit_fast_tokenizer(samples, spec, normalization,
                                        vocab_size=fast_vocab_size, scale=scale)
    policy_config = FastPolicyConfig(
        spec=spec, normalization=normalization,
        max_new_tokens=spec.chunk_length * len(spec.joint_names) + 1,
        length_constrained=length_constrained)
    model, tokenizer = new_vlm(spec, action_vocab_size=fast_tokenizer.vocab_size,
                               size=config.size, seed=config.seed,
                               extra_texts=sorted(instructions_of(samples)),
                               state_bins=policy_config.state_bins)
    prompt = PromptEncoder(spec, tokenizer, state_stats=normalization.state,
                           state_bins=policy_config.state_bins,
                           tokens_per_image=config.size.tokens_per_image(spec))
    assert tokenizer.eos_token_id is not None, 'build_text_tokenizer defines <eos>'
    processor = FastProcessor(policy_config, prompt, fast_tokenizer,
                              vocab_size=model_vocab_size(model),
                              end_id=tokenizer.eos_token_id)
    tensors = make_sequences(samples, prompt, processor, spec=spec)
    pointed = None if pointing is None else pretrain(model, prompt, pointing, config)
    return fit_and_save(model, tensors, config, family='fast', pointing=pointed,
                        progress=progress,
                        save=lambda: save_checkpoint(out_dir, model, tokenizer,
                                                     fast_tokenizer, policy_config))
