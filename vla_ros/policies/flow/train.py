# SPDX-License-Identifier: Apache-2.0
# Copyright 2026 The vla_ros authors
"""Train a tiny flow-matching (pi0) policy on demonstrations and write a loadable checkpoint.

The objective is the one transformers' ``PI0ForConditionalGeneration.forward`` computes when
given ``actions`` (openpi's convention, t = 1 is noise): for a normalized action chunk A and
noise e ~ N(0, I) the model sees x_t = t * e + (1 - t) * A and regresses the velocity e - A,
with t drawn from Beta(1.5, 1) scaled into [0.001, 1] (the model config's time sampling).
Here t and e come from a numpy generator seeded by ``TrainingConfig.seed`` and are passed in,
and the model returns the per-element squared error (``loss_reduction='none'``), which is
averaged over the loss mask only: the robot's joints (not the zero padding up to the model's
32 dims) in the chunk rows inside the episode (not the rows copied past its end, unless
``TrainingConfig.mask_padding`` is off).

Given a ``PointingSet``, the model's VLM is first pre-trained to point at the object each
instruction names (``vla_ros.policies.pointing``), and its vision tower then stays frozen
(``TrainingConfig.freeze_vision``): from random weights the flow loss alone does not teach the
model which cube the colour word means, and fine-tuning the tower afterwards only blurs what
pointing taught it (``docs/results.md``). With ``TrainingConfig.pointing_weight`` > 0 the
pointing loss stays in every flow step (co-training, as the token families do), weighted, with
the pre-training's head, so the action loss does not wash out of the VLM what pointing taught.

The model is built by ``checkpoint.build_model`` (weights seeded by the same seed), optimized
with AdamW, linear warm-up then cosine decay, and gradient clipping. Batches are drawn
without replacement, epoch by epoch. The same seed, samples and torch thread count
(``TrainingConfig.torch_threads``) give the same losses and weights. The checkpoint holds the
transformers files and a ``vla_ros_policy.json`` with the statistics of the training samples,
so ``load_policy('flow', out_dir)`` runs it through the normal inference path.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field, replace
import logging
from pathlib import Path
from typing import TYPE_CHECKING

import numpy as np
import torch
from transformers import PI0ForConditionalGeneration

from vla_ros.core.errors import ConfigError
from vla_ros.core.training_samples import dataset_spec, MIN_STD, SampleSource
from vla_ros.policies.flow.checkpoint import build_model, ModelSize, save_checkpoint
from vla_ros.policies.flow.config import FlowPolicyConfig, POINTED_SLOTS, PointedState
from vla_ros.policies.flow.pointing import (
    pointed_into_state,
    prompt_readout,
    query_tokens,
    QueryTokens,
    READOUTS,
)
from vla_ros.policies.flow.processor import FlowProcessor
from vla_ros.policies.flow.training_data import (
    dataset_normalization,
    make_tensors,
    TrainingTensors,
)
from vla_ros.policies.pointing import (
    PointingConfig,
    PointingObjective,
    PointingResult,
    train_pointing,
)
from vla_ros.policies.training_loop import (
    check_run_settings,
    index_batches,
    optimize,
    require_number,
    timed_run,
    torch_threads,
)
from vla_ros.policies.training_result import TrainingResult

if TYPE_CHECKING:
    from vla_ros.core.pointing_set import PointingSet
    from vla_ros.policies.base import PolicySpec

__all__ = ['TrainingConfig', 'TrainingResult', 'flow_matching_loss', 'train']

_LOG = logging.getLogger(__name__)


@dataclass(frozen=True, slots=True)
class TrainingConfig:
    """What a training run does; the defaults train the default reach policy.

    Attributes:
        steps: optimizer steps.
        batch_size: samples per step.
        learning_rate: peak AdamW learning rate.
        weight_decay: AdamW decoupled weight decay.
        warmup_steps: steps of linear warm-up from 0 to the peak; cosine decay to 10 % follows.
        grad_clip_norm: largest global gradient norm.
        seed: seeds the weights, the batch order, the flow times and noise, and the stored
            sampling-noise seed of the checkpoint.
        num_denoising_steps: Euler steps of the checkpoint's sampler.
        size: widths and depths of the model; weights drawn at 1 / sqrt(width).
        log_every: steps between loss reports (the mean since the last one).
        torch_threads: CPU threads torch uses during the run; losses and weights repeat
            exactly only for the same count. One thread is the fastest on a shared machine.
        mask_padding: keep chunk rows past an episode's end out of the loss. False trains
            them on the dataset's padding (the last target repeated), so the policy learns
            to hold where a demonstration stopped instead of leaving those rows unconstrained.
        pointing: the pointing pre-training run when ``train`` is given a ``PointingSet``.
        freeze_vision: after pointing pre-training, keep the vision tower's weights fixed.
        pointing_weight: after pointing pre-training, weight of the pointing loss added to
            each flow step's loss (co-training); 0 drops it after the pre-training.
        min_std: floor of the stored standard deviations, robot units. A joint that barely
            moves in the demonstrations (a hand's fingers) otherwise turns a small offset at
            deployment (a finger pressed on the table) into an input many deviations out.
        pointing_readout: where pointing reads the VLM (``vla_ros.policies.flow.pointing``):
            ``'output'``, its final hidden state, or ``'attended'``, the input of its last
            layer, which the action expert's last layer attends to.
        joint_deltas: the samples' chunk rows are offsets from the observed joints
            (``ObservedJointDeltas``): the action statistics cover every real chunk row, not
            each chunk's first (offsets grow along the chunk), and the checkpoint records it
            (``FlowPolicyConfig.joint_deltas``).
        pointed_state: write the pointing head's answer for each sample (the named object's
            normalized (x, y), from the VLM's readout of the sample's own images and
            instruction) into the two state slots after the joints, as the checkpoint then
            does at every inference (``FlowPolicyConfig.pointed_state``). Needs a pointing
            set and co-training (``pointing_weight`` > 0), so the head keeps up with the VLM.
        point_at: with ``pointed_state``, further texts to point at with the same head and
            images ("the yellow square"), each filling the next two state slots; the
            pointing set should label what they name.
    """

    steps: int = 3000
    batch_size: int = 32
    learning_rate: float = 1e-3
    weight_decay: float = 1e-2
    warmup_steps: int = 100
    grad_clip_norm: float = 1.0
    seed: int = 0
    num_denoising_steps: int = 10
    size: ModelSize = field(default_factory=lambda: ModelSize(init_std=0.125))
    log_every: int = 100
    torch_threads: int = 1
    mask_padding: bool = True
    pointing: PointingConfig = field(default_factory=PointingConfig)
    freeze_vision: bool = True
    pointing_weight: float = 0.0
    min_std: float = MIN_STD
    joint_deltas: bool = False
    pointing_readout: str = 'output'
    pointed_state: bool = False
    point_at: tuple[str, ...] = ()

    def __post_init__(self) -> None:
        check_run_settings(self, counts=('num_denoising_steps',))
        require_number(self, 'pointing_weight', may_be_zero=True)
        require_number(self, 'min_std')
        if self.pointing_readout not in READOUTS:
            raise ConfigError(f'TrainingConfig.pointing_readout: {self.pointing_readout!r}, '
                              f'expected one of {", ".join(READOUTS)}')
        if self.pointed_state and self.pointing_weight <= 0:
            raise ConfigError('TrainingConfig.pointed_state: needs pointing co-training '
                              '(pointing_weight > 0), or the head falls behind the VLM')
        if self.point_at and not self.pointed_state:
            raise ConfigError('TrainingConfig.point_at: only with pointed_state')
        if any(not text.strip() for text in self.point_at) or len(set(self.point_at)) != len(
                self.point_at):
            raise ConfigError(f'TrainingConfig.point_at: {list(self.point_at)!r}, expected '
                              'distinct, non-empty texts')


def flow_matching_loss(model: PI0ForConditionalGeneration, batch: TrainingTensors, *,
                       timestep: torch.Tensor, noise: torch.Tensor) -> torch.Tensor:
    """The masked mean squared velocity error of ``batch`` at flow times ``timestep``.

    Args:
        model: a PI0 whose config has ``loss_reduction='none'``.
        batch: inputs, normalized actions and loss mask of B samples.
        timestep: (B,) float32 flow times in (0, 1].
        noise: (B, L, max_action_dim) float32 standard normal noise.
    """
    output = model(
        state=batch.state, noise=noise, timestep=timestep, input_ids=batch.input_ids,
        pixel_values=batch.model_pixels(), pixel_attention_mask=batch.pixel_attention_mask,
        attention_mask=batch.attention_mask, actions=batch.actions)
    per_element = output.loss
    assert per_element is not None and per_element.shape == batch.actions.shape
    mask = batch.loss_mask.to(per_element.dtype)
    loss: torch.Tensor = (per_element * mask).sum() / mask.sum().clamp(min=1.0)
    return loss


def _draw_flow(model: PI0ForConditionalGeneration, batch: TrainingTensors,
               rng: np.random.Generator) -> tuple[torch.Tensor, torch.Tensor]:
    """(timestep (B,), noise (B, L, D)) from ``rng``, times as the model config samples them."""
    model_config = model.config
    size = len(batch)
    beta = rng.beta(model_config.time_sampling_beta_alpha, model_config.time_sampling_beta_beta,
                    size=size)
    timestep = beta * model_config.time_sampling_scale + model_config.time_sampling_offset
    noise = rng.standard_normal(tuple(batch.actions.shape))
    return (torch.from_numpy(timestep.astype(np.float32)),
            torch.from_numpy(noise.astype(np.float32)))


def _optimize(model: PI0ForConditionalGeneration, tensors: TrainingTensors,
              config: TrainingConfig, cotrain: PointingObjective | None = None, *,
              progress: bool, pointed_slot: int | None = None,
              queries: Sequence[QueryTokens | None] = (None,)) -> list[float]:
    """Run ``config.steps`` AdamW steps on ``tensors``; returns every step's flow loss.

    With ``cotrain`` and ``config.pointing_weight`` > 0, each step's objective also holds the
    weighted pointing loss on a batch of as many scenes (its head trains too). With
    ``pointed_slot``, each batch's state gets ``cotrain``'s points at ``queries`` from that
    column on (``TrainingConfig.pointed_state``).
    """
    rng = np.random.default_rng(config.seed)
    pointing = cotrain if config.pointing_weight > 0 else None
    trained = [parameter for parameter in model.parameters() if parameter.requires_grad]
    if pointing is not None:
        trained += list(pointing.head.parameters())
    batches = index_batches(len(tensors), min(config.batch_size, len(tensors)),
                            lambda count: torch.from_numpy(rng.permutation(count)))

    def step_loss(step: int) -> tuple[torch.Tensor, torch.Tensor]:
        batch = tensors.select(next(batches))
        if pointed_slot is not None:
            assert cotrain is not None, 'a pointed state needs the pointing head'
            batch = replace(batch, state=pointed_into_state(
                model, cotrain.head, layer=config.pointing_readout, slot=pointed_slot,
                input_ids=batch.input_ids, attention_mask=batch.attention_mask,
                pixels=batch.pixel_values, pixel_attention_mask=batch.pixel_attention_mask,
                state=batch.state, queries=queries))
        timestep, noise = _draw_flow(model, batch, rng)
        loss = flow_matching_loss(model, batch, timestep=timestep, noise=noise)
        return loss, loss if pointing is None else (
            loss + config.pointing_weight * pointing.loss(config.batch_size))

    model.train()
    losses = optimize(trained, step_loss, config, label='flow', progress=progress)
    model.eval()  # type: ignore[no-untyped-call]
    return losses


def _pretrain(model: PI0ForConditionalGeneration, processor: FlowProcessor, data: PointingSet,
              config: TrainingConfig) -> tuple[PointingResult, PointingObjective]:
    """Pointing pre-training of ``model``'s VLM, then the vision tower frozen if configured.

    Returns the outcome and the objective, head included, for co-training to continue.
    """
    spec = processor.spec
    data.check_fits(spec)
    readout = prompt_readout(model, processor.hf_processor,
                             [text for text, _ in data.prompts], spec,
                             layer=config.pointing_readout)
    vlm = model.model.vlm
    objective = PointingObjective(readout, width=config.size.width, data=data,
                                  config=config.pointing)
    model.train()
    result = train_pointing(objective, list(vlm.parameters()), config.pointing)
    if config.freeze_vision:
        vlm.vision_tower.requires_grad_(False)
    return result, objective


def _start_from(model: PI0ForConditionalGeneration, init_dir: Path, spec: PolicySpec, *,
                joint_deltas: bool, pointed_state: bool) -> None:
    """Copy the weights of the flow checkpoint ``init_dir`` into ``model``: a fine-tune's start.

    Raises:
        ConfigError: the checkpoint does not load, is for other joints, cameras, image size or
            chunk length, outputs other rows (offsets against absolute targets, see
            ``joint_deltas``), was trained with a pointed state this run would leave zero, or
            its tensors do not fit the model this run builds.
    """
    from vla_ros.policies.flow.model import load

    try:
        start = load(init_dir, 'cpu')
    except ConfigError as err:
        raise ConfigError(f'--init {init_dir}: {err}') from err
    if start.config.joint_deltas != joint_deltas:
        rows = ('offsets from the observed joints', 'absolute targets')
        theirs, ours = rows if start.config.joint_deltas else rows[::-1]
        raise ConfigError(f'--init {init_dir}: its chunk rows are {theirs}, this run trains '
                          f'{ours}; {"drop" if joint_deltas else "add"} --joint-deltas')
    if start.config.pointed_state is not None and not pointed_state:
        raise ConfigError(f'--init {init_dir}: its state holds the point of its pointing head, '
                          'which this run would leave at zero; add --pointed-state')
    for field_name in ('joint_names', 'camera_names', 'image_height', 'image_width',
                       'chunk_length'):
        theirs, ours = getattr(start.spec, field_name), getattr(spec, field_name)
        if theirs != ours:
            raise ConfigError(f'--init {init_dir}: its {field_name} {theirs!r} differ from the '
                              f"demonstrations' {ours!r}")
    try:
        model.load_state_dict(start.model.state_dict(), strict=True)
    except RuntimeError as err:
        raise ConfigError(f'--init {init_dir}: its weights do not fit the model this run '
                          f'builds (another model size?): {err}') from err


def train(samples: SampleSource, out_dir: Path, *, dt_s: float,
          config: TrainingConfig | None = None, progress: bool = True,
          pointing: PointingSet | None = None, init: Path | None = None) -> TrainingResult:
    """Fit a tiny PI0 to ``samples`` by flow matching and write the checkpoint to ``out_dir``.

    Args:
        samples: demonstrations (a ``DemonstrationDataset``); every sample's action chunk has
            the policy's chunk length.
        out_dir: checkpoint directory; created if missing, files of the same name replaced.
        dt_s: time between chunk rows (the demonstrations' step), seconds.
        config: the run's settings; ``TrainingConfig()`` when None.
        progress: show a tqdm progress bar on stderr.
        pointing: scenes to pre-train the VLM on first (see the module docstring); None
            trains from random weights.
        init: a flow checkpoint of the same model size, joints and cameras to start from
            (fine-tuning) instead of random weights; its vision tower stays frozen when
            ``config.freeze_vision``. The normalisation is the new samples'.

    Raises:
        ConfigError: no samples, inconsistent samples, an invalid setting, or a pointing set
            whose cameras differ from the samples'.
        InputError: an observation the inference preprocessing refuses.
    """
    config = config or TrainingConfig()
    if config.pointed_state and pointing is None:
        raise ConfigError('a pointed state (--pointed-state) needs pointing scenes (--pointing)')
    spec = dataset_spec(samples, dt_s=dt_s)
    policy_config = FlowPolicyConfig(
        spec=spec, normalization=dataset_normalization(
            samples, spec, min_std=config.min_std, every_row=config.joint_deltas),
        num_denoising_steps=config.num_denoising_steps, noise_seed=config.seed,
        joint_deltas=config.joint_deltas)
    model, hf_processor = build_model(spec, size=config.size, seed=config.seed,
                                      num_denoising_steps=config.num_denoising_steps)
    if init is not None:
        _start_from(model, init, spec, joint_deltas=config.joint_deltas,
                    pointed_state=config.pointed_state)
        if config.freeze_vision:
            model.model.vlm.vision_tower.requires_grad_(False)
    model_config = model.config
    processor = FlowProcessor(policy_config, hf_processor,
                              max_state_dim=model_config.max_state_dim,
                              max_action_dim=model_config.max_action_dim)
    tensors = make_tensors(samples, processor, policy_config,
                           max_action_dim=model_config.max_action_dim,
                           mask_padding=config.mask_padding)
    pointed_slot = len(policy_config.state_joints) if config.pointed_state else None
    query_texts = ('', *config.point_at)
    queries = [None, *(query_tokens(hf_processor, spec, text) for text in config.point_at)]
    used = (pointed_slot or 0) + POINTED_SLOTS * len(query_texts)
    if pointed_slot is not None and used > model_config.max_state_dim:
        raise ConfigError(f'--pointed-state: {pointed_slot} state joints and '
                          f'{len(query_texts)} points need {used} state values, the model '
                          f'takes {model_config.max_state_dim}')
    heads: list[PointingObjective] = []

    def run() -> tuple[list[float], PointingResult | None]:
        model_config.loss_reduction = 'none'
        try:
            with torch_threads(config.torch_threads):
                if pointing is None:
                    return _optimize(model, tensors, config, progress=progress), None
                pointed, objective = _pretrain(model, processor, pointing, config)
                heads.append(objective)
                losses = _optimize(model, tensors, config, objective, progress=progress,
                                   pointed_slot=pointed_slot, queries=queries)
                with torch.no_grad():
                    accuracy, median_error_m = objective.score()
                _LOG.info('pointing after the flow training: held-out accuracy %.3f, median '
                          'error %.1f cm', accuracy, 100 * median_error_m)
                return losses, pointed
        finally:
            model_config.loss_reduction = 'mean'

    def save() -> Path:
        saved = policy_config
        if pointed_slot is not None:
            (objective,) = heads
            head = objective.head.requires_grad_(False)
            saved = replace(policy_config, pointed_state=PointedState(
                readout=config.pointing_readout,
                weight=(tuple(head.weight[0].tolist()), tuple(head.weight[1].tolist())),
                bias=(float(head.bias[0]), float(head.bias[1])),
                mean=objective.mean, spread=objective.spread, queries=query_texts))
        return save_checkpoint(out_dir, model, hf_processor, saved)

    return timed_run(model, what=f'flow policy on {len(tensors)} samples',
                     samples=len(tensors), run=run, save=save)
