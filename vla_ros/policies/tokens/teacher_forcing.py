# SPDX-License-Identifier: Apache-2.0
# Copyright 2026 The vla_ros authors
"""Teacher-forced cross-entropy training of the token families' vision-language model.

Every step draws a batch of sequences (``sequences.SequenceTensors``, without replacement,
epoch by epoch), runs the model over prompt and targets at once with the prompt as one
bidirectional block (``token_type_ids``) and averages the next-token cross-entropy over the
target positions only (the model's own shifted loss, labels -100 elsewhere). AdamW, linear
warm-up then cosine decay to 10 %, gradient clipping. The same seed, data and torch thread
count give the same losses and weights.

With ``pointing_weight`` > 0 and a pointing objective from pre-training, every step also adds
that weight times the pointing loss on a fresh batch of pointing scenes (co-training, as pi0.5
keeps training on vision-language data next to its actions): fine-tuned on action tokens alone,
the tiny VLM forgets which cube the instruction names (``docs/results.md``).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
import logging
from pathlib import Path

import numpy as np
import torch
from transformers import PaliGemmaForConditionalGeneration

from vla_ros.policies.pointing import PointingConfig, PointingObjective, PointingResult
from vla_ros.policies.tokens.config import ActionSpace
from vla_ros.policies.tokens.prompt import pixels_to_model
from vla_ros.policies.tokens.sequences import IGNORE_INDEX, SequenceTensors
from vla_ros.policies.tokens.vlm import VlmSize
from vla_ros.policies.training_loop import (
    check_run_settings,
    index_batches,
    optimize,
    require_number,
    timed_run,
    torch_threads,
)
from vla_ros.policies.training_result import TrainingResult

__all__ = ['TrainingConfig', 'TrainingResult', 'fit', 'fit_and_save', 'sequence_loss']

_LOG = logging.getLogger(__name__)


@dataclass(frozen=True, slots=True)
class TrainingConfig:
    """What a training run does; the defaults train the reach policies in minutes on a CPU.

    Attributes:
        steps: optimizer steps.
        batch_size: sequences per step.
        learning_rate: peak AdamW learning rate.
        weight_decay: AdamW decoupled weight decay.
        warmup_steps: steps of linear warm-up; cosine decay to 10 % of the peak follows.
        grad_clip_norm: largest global gradient norm.
        seed: seeds the weights and the batch order.
        size: widths and depths of the model.
        action_space: absolute targets or targets relative to the observed joints.
        log_every: steps between loss reports (the mean since the last one).
        torch_threads: CPU threads torch uses during the run.
        pointing: the pointing pre-training run when ``train`` is given a ``PointingSet``.
        freeze_vision: after pointing pre-training, keep the vision tower's weights fixed.
        pointing_weight: after pointing pre-training, weight of the pointing loss added to
            every action step (co-training, ``batch_size`` scenes a step); 0: none.
    """

    steps: int = 2000
    batch_size: int = 32
    learning_rate: float = 2e-3
    weight_decay: float = 1e-2
    warmup_steps: int = 100
    grad_clip_norm: float = 1.0
    seed: int = 0
    size: VlmSize = field(default_factory=VlmSize)
    action_space: ActionSpace = ActionSpace.DELTA
    log_every: int = 100
    torch_threads: int = 1
    pointing: PointingConfig = field(default_factory=PointingConfig)
    freeze_vision: bool = True
    pointing_weight: float = 0.0

    def __post_init__(self) -> None:
        check_run_settings(self)
        require_number(self, 'pointing_weight', may_be_zero=True)


def sequence_loss(model: PaliGemmaForConditionalGeneration,
                  batch: SequenceTensors) -> torch.Tensor:
    """Mean next-token cross-entropy over ``batch``'s target positions, nats.

    The output projection runs only where a target is predicted (the position before each
    labelled one), not over the image and prompt tokens: most of the sequence.
    """
    images = batch.images
    pixel_values = pixels_to_model(images.reshape(-1, *images.shape[2:]))
    hidden = model.model(input_ids=batch.input_ids, attention_mask=batch.attention_mask,
                         token_type_ids=batch.token_type_ids,
                         pixel_values=pixel_values).last_hidden_state
    targets = batch.labels[:, 1:]
    predicting = targets != IGNORE_INDEX
    logits = model.lm_head(hidden[:, :-1][predicting])
    return torch.nn.functional.cross_entropy(logits, targets[predicting])


def fit(model: PaliGemmaForConditionalGeneration, tensors: SequenceTensors,
        config: TrainingConfig, cotrain: PointingObjective | None = None, *,
        label: str = 'tokens', progress: bool = False) -> list[float]:
    """Run ``config.steps`` AdamW steps on ``tensors``; return every step's action loss.

    With ``cotrain`` and ``config.pointing_weight`` > 0, each step's objective also holds the
    weighted pointing loss (its head trains too). The model is left in eval mode; torch's
    thread count is restored afterwards.
    """
    rng = np.random.default_rng(config.seed)
    pointing = cotrain if config.pointing_weight > 0 else None
    trained = [parameter for parameter in model.parameters() if parameter.requires_grad]
    if pointing is not None:
        trained += list(pointing.head.parameters())
    batches = index_batches(len(tensors), min(config.batch_size, len(tensors)),
                            lambda count: torch.from_numpy(rng.permutation(count)))

    def step_loss(step: int) -> tuple[torch.Tensor, torch.Tensor]:
        loss = sequence_loss(model, tensors.select(next(batches)))
        return loss, loss if pointing is None else (
            loss + config.pointing_weight * pointing.loss(config.batch_size))

    with torch_threads(config.torch_threads):
        model.train()
        try:
            return optimize(trained, step_loss, config, label=label, progress=progress)
        finally:
            model.eval()  # type: ignore[no-untyped-call]


def fit_and_save(model: PaliGemmaForConditionalGeneration, tensors: SequenceTensors,
                 config: TrainingConfig, *, family: str, save: Callable[[], Path],
                 pointing: tuple[PointingResult, PointingObjective] | None = None,
                 progress: bool = False) -> TrainingResult:
    """``fit``, then ``save()`` the checkpoint; returns what the run produced.

    ``pointing`` is the outcome and objective of the pointing pre-training that came before,
    if any: ``fit`` co-trains on the objective when configured, and the held-out pointing score
    after the action training is logged, so a run shows how much of the binding it kept.
    """
    outcome, objective = (None, None) if pointing is None else pointing

    def run() -> tuple[list[float], PointingResult | None]:
        return fit(model, tensors, config, cotrain=objective, label=family,
                   progress=progress), outcome

    def score_and_save() -> Path:
        if objective is not None:
            accuracy, median_error_m = objective.score()
            _LOG.info('pointing after the action training: held-out accuracy %.3f, median '
                      'error %.1f cm', accuracy, 100 * median_error_m)
        return save()

    return timed_run(model, what=f'{family} policy on {len(tensors)} sequences of up to '
                     f'{tensors.input_ids.shape[1]} tokens', samples=len(tensors), run=run,
                     save=score_and_save)
