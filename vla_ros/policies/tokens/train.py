# SPDX-License-Identifier: Apache-2.0
# Copyright 2026 The vla_ros authors
"""Train a tiny discrete-token (``tokens``) policy on demonstrations; write its checkpoint.

The statistics (q01/q99 of the joint positions and of the chunk rows, in the chosen action
space) come from the samples; the text tokenizer is trained on the built-in corpus plus the
samples' instructions; the model learns to emit each chunk's chunk_length x joints bin tokens
by teacher-forced cross-entropy (``teacher_forcing.py``). The checkpoint then loads with
``load_policy('tokens', out_dir)``, the path every user checkpoint goes through.

``vla-ros train --family tokens`` calls ``train``.
"""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING

from vla_ros.core.training_samples import dataset_spec, instructions_of
from vla_ros.policies.tokens.checkpoint import new_vlm
from vla_ros.policies.tokens.config import TokensPolicyConfig
from vla_ros.policies.tokens.model import save_checkpoint
from vla_ros.policies.tokens.pointing import pretrain
from vla_ros.policies.tokens.processor import TokensProcessor
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

__all__ = ['TrainingConfig', 'train']


def train(samples: SampleSource, out_dir: Path, *, dt_s: float,
          config: TrainingConfig | None = None, progress: bool = True,
          pointing: PointingSet | None = None) -> TrainingResult:
    """Fit a tiny token VLM to ``samples`` and write the ``tokens`` checkpoint to ``out_dir``.

    Args:
        samples: demonstrations (a ``DemonstrationDataset``); every chunk has the policy's
            chunk length.
        out_dir: checkpoint directory; created if missing, files of the same name replaced.
        dt_s: time between chunk rows, seconds.
        config: the run's settings; ``TrainingConfig()`` when None.
        progress: show a tqdm progress bar on stderr.
        pointing: scenes to pre-train the VLM on first (``vla_ros.policies.pointing``); None
            trains from random weights.

    Raises:
        ConfigError: no samples, inconsistent samples or an invalid setting.
        InputError: an observation the prompt encoder refuses.
    """
    config = config or TrainingConfig()
    spec = dataset_spec(samples, dt_s=dt_s)
    policy_config = TokensPolicyConfig(
        spec=spec, normalization=token_normalization(samples, spec, config.action_space))
    model, tokenizer = new_vlm(spec, action_vocab_size=policy_config.n_bins, size=config.size,
                               seed=config.seed, extra_texts=sorted(instructions_of(samples)),
                               state_bins=policy_config.state_bins)
    prompt = PromptEncoder(spec, tokenizer, state_stats=policy_config.normalization.state,
                           state_bins=policy_config.state_bins,
                           tokens_per_image=config.size.tokens_per_image(spec))
    processor = TokensProcessor(policy_config, prompt,
                                vocab_size=model_vocab_size(model))
    tensors = make_sequences(samples, prompt, processor, spec=spec)
    pointed = None if pointing is None else pretrain(model, prompt, pointing, config)
    return fit_and_save(model, tensors, config, family='tokens', pointing=pointed,
                        progress=progress,
                        save=lambda: save_checkpoint(out_dir, model, tokenizer, policy_config))
