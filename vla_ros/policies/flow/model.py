# SPDX-License-Identifier: Apache-2.0
# Copyright 2026 The vla_ros authors
"""Flow-matching policy (pi0) on transformers' ``PI0ForConditionalGeneration``.

A checkpoint directory holds the transformers files (``config.json``, ``model.safetensors``,
tokenizer and processor files) plus ``vla_ros_policy.json`` (see ``config.py``), or is a LeRobot
pi0 folder as published (``lerobot_loader.py``). Everything is read locally; nothing is ever
downloaded, and every weight must come from the files (``strict_loading.py``). The sampling
noise comes from a torch generator seeded from the config, so a freshly loaded policy repeats
its outputs exactly.
"""

from __future__ import annotations

from dataclasses import replace
import logging
import math
from pathlib import Path
from typing import TYPE_CHECKING

import torch
from transformers import PI0ForConditionalGeneration, PreTrainedConfig

from vla_ros.core.errors import ConfigError
from vla_ros.policies.checkpoint_policy import CheckpointPolicy
from vla_ros.policies.device import resolve_device, resolve_dtype
from vla_ros.policies.flow.batch_inputs import PaddingSide, stack_inputs
from vla_ros.policies.flow.checkpoint import save_checkpoint
from vla_ros.policies.flow.config import FlowPolicyConfig
from vla_ros.policies.flow.lerobot_loader import load_lerobot_pi0
from vla_ros.policies.flow.lerobot_pi0 import CheckpointLayout, detect_layout
from vla_ros.policies.flow.pointing import StatePointer
from vla_ros.policies.flow.processor import FlowProcessor
from vla_ros.policies.flow.sampler import SampleInputs, SamplerBackend
from vla_ros.policies.flow.strict_loading import load_pi0_strictly

if TYPE_CHECKING:
    from collections.abc import Sequence

    from vla_ros.core.config import PolicyConfig
    from vla_ros.core.types import ActionChunk, Observation
    from vla_ros.policies.flow.processor import ModelInputs

__all__ = ['FlowPolicy', 'load']

logger = logging.getLogger(__name__)


class FlowPolicy(CheckpointPolicy[FlowPolicyConfig, FlowProcessor]):
    """A pi0-style flow-matching policy; implements ``vla_ros.policies.base.Policy``.

    Each ``infer`` draws the initial noise, shape (1, chunk_size, max_action_dim) float32, on the
    CPU from a ``torch.Generator`` seeded with ``noise_seed`` at construction, then runs
    ``num_denoising_steps`` Euler steps: by default with our ``FlowSampler`` (static prefix
    cache, fixed shapes), which equals transformers' ``sample_actions`` up to rounding; the
    latter stays available as ``SamplerBackend.TRANSFORMERS``. Two policies built from the same
    checkpoint therefore return identical chunk sequences for identical observations, on any
    device up to kernel differences.

    Args:
        model: the transformers model, already on ``device``.
        processor: input and output conversion for the model.
        config: the checkpoint's vla_ros config.
        device: where the model lives.
        sampler: how chunks are sampled; None picks ``SamplerBackend.default_for(device)``.
        noise_scale: multiplies the initial noise (``PolicyConfig.noise_scale``): 1 samples
            the learnt distribution, 0 starts every chunk from zeros (deterministic).

    Raises:
        ConfigError: a negative or non-finite ``noise_scale``.
    """

    def __init__(self, model: PI0ForConditionalGeneration, processor: FlowProcessor,
                 config: FlowPolicyConfig, *, device: torch.device,
                 sampler: SamplerBackend | None = None, noise_scale: float = 1.0) -> None:
        if not (math.isfinite(noise_scale) and noise_scale >= 0.0):
            raise ConfigError(f'policy.noise_scale: {noise_scale!r}, expected a number >= 0')
        super().__init__(processor, config, device=device)
        self._noise_scale = float(noise_scale)
        model.eval()  # type: ignore[no-untyped-call]
        self._model = model
        self._dtype = next(model.parameters()).dtype
        self._noise_shape = (1, model.config.chunk_size, model.config.max_action_dim)
        self._generator = torch.Generator(device='cpu').manual_seed(config.noise_seed)
        self._sampler_backend = sampler or SamplerBackend.default_for(device)
        self._sampler = self._sampler_backend.make_sampler(model)
        pointed = config.pointed_state
        self._pointer = None if pointed is None else StatePointer(
            pointed, slot=len(config.state_joints), device=device, dtype=self._dtype,
            hf_processor=processor.hf_processor, spec=config.spec)
        logger.info('flow policy samples with %s', self.inference_path)

    @property
    def noise_scale(self) -> float:
        """What the initial noise is multiplied by (``PolicyConfig.noise_scale``)."""
        return self._noise_scale

    @property
    def inference_path(self) -> str:
        """How chunks are computed: the sampler and its backend, device and dtype."""
        sampler = ("transformers' sample_actions" if self._sampler is None
                   else f'our sampler ({self._sampler_backend.value})')
        scaled = '' if self._noise_scale == 1.0 else f', noise scale {self._noise_scale:g}'
        pointed = '' if self._pointer is None else ', pointed state'
        return (f'{sampler} on {self._device}, {str(self._dtype).removeprefix("torch.")}'
                f'{scaled}{pointed}')

    @property
    def action_rows_from_observation(self) -> bool:
        """Whether the chunk rows are offsets from the observed joints (``--joint-deltas``)."""
        return self.config.joint_deltas

    @property
    def model(self) -> PI0ForConditionalGeneration:
        """The underlying transformers model (for parity checks and benchmarks)."""
        return self._model

    def infer(self, observation: Observation) -> ActionChunk:
        """Compute the next action chunk (absolute joint positions) for ``observation``.

        Raises:
            InputError: the observation does not fit the spec (camera, size, joint, instruction).
            PolicyOutputError: the model produced no valid chunk.
        """
        inputs = self._processor.prepare(observation).to(self._device, self._dtype)
        with self._lock, torch.inference_mode():
            noise = torch.randn(self._noise_shape, generator=self._generator, dtype=torch.float32)
            noise = (noise * self._noise_scale).to(self._device, self._dtype)
            actions = self._sample(inputs, noise)
        return self._processor.to_action_chunk(actions)

    def _sample(self, inputs: ModelInputs, noise: torch.Tensor) -> torch.Tensor:
        """(B, chunk_size, max_action_dim) actions from ``noise``; the caller holds the lock.

        With a pointed state (``FlowPolicyConfig.pointed_state``), the VLM's point at the named
        object is computed from the same inputs first and written into the state.
        """
        if self._pointer is not None:
            inputs = replace(inputs, state=self._pointer.fill(
                self._model, input_ids=inputs.input_ids, attention_mask=inputs.attention_mask,
                pixels=inputs.pixel_values, pixel_attention_mask=inputs.pixel_attention_mask,
                state=inputs.state))
        if self._sampler is not None:
            return self._sampler.sample(SampleInputs(
                input_ids=inputs.input_ids, attention_mask=inputs.attention_mask,
                pixel_values=inputs.pixel_values,
                pixel_attention_mask=inputs.pixel_attention_mask, state=inputs.state,
                noise=noise), num_steps=self._config.num_denoising_steps)
        # transformers annotates these as the legacy LongTensor / BoolTensor types.
        actions: torch.Tensor = self._model.sample_actions(
            state=inputs.state, pixel_values=inputs.pixel_values,
            input_ids=inputs.input_ids,  # type: ignore[arg-type]
            pixel_attention_mask=inputs.pixel_attention_mask,  # type: ignore[arg-type]
            noise=noise, attention_mask=inputs.attention_mask,
            num_steps=self._config.num_denoising_steps)
        return actions

    def new_noise_stream(self) -> torch.Generator:
        """A noise generator for one client, seeded as this policy's own was at construction.

        ``infer_batch`` draws each row's noise from the row's stream, so a client whose requests
        all go through one stream gets exactly the noise, and up to rounding the chunks, that
        ``infer`` on a freshly loaded policy would give it, whoever else shares the batches.
        """
        return torch.Generator(device='cpu').manual_seed(self._config.noise_seed)

    def infer_batch(self, observations: Sequence[Observation],
                    streams: Sequence[torch.Generator]) -> list[ActionChunk]:
        """One chunk per observation from one batched forward pass (``vla-ros serve`` batching).

        Row i's noise, shape (1, chunk_size, max_action_dim), is drawn from ``streams[i]``, in
        order; on any error no stream advances, so a retry draws the same noise.

        Raises:
            InputError: an observation does not fit the spec (before any noise is drawn).
            PolicyOutputError: the model produced no valid chunk for some row.
        """
        assert len(observations) == len(streams) > 0, 'one stream per observation'
        tokenizer = self._processor.hf_processor.tokenizer
        inputs = stack_inputs([self._processor.prepare(obs) for obs in observations],
                              pad_token_id=tokenizer.pad_token_id,
                              side=PaddingSide(tokenizer.padding_side)
                              ).to(self._device, self._dtype)
        states = [stream.get_state() for stream in streams]
        try:
            with self._lock, torch.inference_mode():
                noise = torch.cat([
                    torch.randn(self._noise_shape, generator=stream, dtype=torch.float32)
                    for stream in streams]) * self._noise_scale
                noise = noise.to(self._device, self._dtype)
                actions = self._sample(inputs, noise)
            return [self._processor.to_action_chunk(actions[row:row + 1])
                    for row in range(len(observations))]
        except BaseException:
            for stream, state in zip(streams, states, strict=True):
                stream.set_state(state)
            raise

    def save(self, checkpoint_dir: Path) -> None:
        """Write a complete checkpoint (weights, processor files, vla_ros config) into a folder."""
        save_checkpoint(checkpoint_dir, self._model, self._processor.hf_processor, self._config)


def _load_model(checkpoint_dir: Path, dtype: torch.dtype) -> PI0ForConditionalGeneration:
    """Load the transformers files of a vla_ros flow checkpoint, every tensor from the file."""
    return load_pi0_strictly(checkpoint_dir, dtype=dtype)


def _check_compatible(config: FlowPolicyConfig, model: PI0ForConditionalGeneration,
                      processor: FlowProcessor, checkpoint_dir: Path) -> None:
    spec = config.spec
    model_config = model.config
    vlm_config = model_config.vlm_config
    if not isinstance(vlm_config, PreTrainedConfig):
        raise ConfigError(f'{checkpoint_dir}/config.json: vlm_config: {vlm_config!r}, expected '
                          'a PaliGemma config')
    vision = vlm_config.vision_config
    hf_processor = processor.hf_processor
    problems = []
    if spec.chunk_length != model_config.chunk_size:
        problems.append(
            f'spec.chunk_length is {spec.chunk_length}, '
            f'the model predicts {model_config.chunk_size}')
    if (spec.image_height, spec.image_width) != (vision.image_size, vision.image_size):
        problems.append(
            f'spec image size is {spec.image_width}x{spec.image_height} (WxH), the vision tower '
            f'takes {vision.image_size}x{vision.image_size}')
    tokens_per_image = (vision.image_size // vision.patch_size) ** 2
    if hf_processor.image_seq_length != tokens_per_image:
        problems.append(
            f'the processor writes {hf_processor.image_seq_length} image tokens per camera, the '
            f'vision tower makes {tokens_per_image}')
    if hf_processor.image_token_id != vlm_config.image_token_id:
        problems.append(
            f'the tokenizer image token is {hf_processor.image_token_id}, the model expects '
            f'{vlm_config.image_token_id}')
    # The image placeholder may lie one past the vocabulary (PaliGemma: <image> is 257152 of
    # 257152 embeddings); the model never embeds it. Every other token must have a row.
    vocab_size = vlm_config.text_config.vocab_size
    text_tokens = len(hf_processor.tokenizer) - int(hf_processor.image_token_id >= vocab_size)
    if text_tokens > vocab_size:
        problems.append(
            f'the tokenizer has {text_tokens} tokens besides <image>, the language model '
            f'embeds {vocab_size}')
    pointed = config.pointed_state
    if pointed is not None:
        hidden = vlm_config.text_config.hidden_size
        if pointed.width != hidden:
            problems.append(f'pointed_state.weight reads {pointed.width} features, the VLM '
                            f'is {hidden} wide')
        used = len(config.state_joints) + pointed.slots
        if used > model_config.max_state_dim:
            problems.append(f'the state takes {len(config.state_joints)} joints and '
                            f'{len(pointed.queries)} pointed (x, y), {used} values, the model '
                            f'at most {model_config.max_state_dim}')
    if problems:
        raise ConfigError(f'{checkpoint_dir}: checkpoint files disagree: ' + '; '.join(problems))


def load(checkpoint_dir: Path, device: str, *,
         settings: PolicyConfig | None = None) -> FlowPolicy:
    """Load a flow checkpoint from a local directory onto ``device`` (the registry's entry point).

    The folder is a vla_ros flow checkpoint or a LeRobot pi0 folder as published
    (``lerobot_pi0.detect_layout``); ``settings`` (the config's ``policy`` section) gives the
    dtype and, for LeRobot folders, the tokenizer and the joint and camera mapping.

    Raises:
        ConfigError: a missing or invalid file, files that disagree with each other, weights
            that do not match the model exactly, a mapping that does not fit the checkpoint,
            or a device that is not available.
    """
    checkpoint_dir = Path(checkpoint_dir)
    torch_device = resolve_device(device)
    dtype = resolve_dtype(None if settings is None else settings.dtype, torch_device)
    if detect_layout(checkpoint_dir) is CheckpointLayout.LEROBOT_PI0:
        model, processor, config = load_lerobot_pi0(checkpoint_dir, settings, dtype=dtype)
    else:
        fields = () if settings is None else tuple(
            name for name in ('tokenizer', 'inputs', 'outputs') if getattr(settings, name))
        if fields:
            raise ConfigError(f'policy.{fields[0]}: {checkpoint_dir} is a vla_ros flow '
                              'checkpoint, which says this itself; remove it')
        config = FlowPolicyConfig.load(checkpoint_dir)
        model = _load_model(checkpoint_dir, dtype)
        processor = FlowProcessor.from_checkpoint(
            checkpoint_dir, config, max_state_dim=model.config.max_state_dim,
            max_action_dim=model.config.max_action_dim)
    _check_compatible(config, model, processor, checkpoint_dir)
    model.to(torch_device)  # type: ignore[arg-type]  # transformers' wrapper hides nn.Module.to
    noise_scale = 1.0 if settings is None or settings.noise_scale is None \
        else settings.noise_scale
    return FlowPolicy(model, processor, config, device=torch_device, noise_scale=noise_scale)
