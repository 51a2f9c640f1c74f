# SPDX-License-Identifier: Apache-2.0
# Copyright 2026 The vla_ros authors
"""Real-time chunking for flow policies: inpainting guidance inside the flow-matching sampler.

``GuidedFlowPolicy`` is a ``FlowPolicy`` that also implements
``vla_ros.core.policy.GuidedPolicy``. ``infer_guided`` samples a chunk with the same
Euler integration as ``infer``, and at every denoising step pulls the predicted clean chunk
towards a prefix (the actions the robot is executing meanwhile), the training-free
pseudo-inverse guidance that real-time chunking uses (Black, Galliker and Levine 2025):

- the model's velocity v at (x_t, t) gives the predicted clean chunk x0 = x_t - t * v
  (transformers' PI0 runs time from 1, noise, to 0, data, with v = noise - actions);
- the weighted error e = W * (prefix - x0), W the soft mask, is pulled back through the
  denoiser as the vector-Jacobian product g = (d x0 / d x_t)^T e (one backward pass);
- the step uses v - w(t) * g with w(t) = min(beta, (t^2 + (1 - t)^2) / (t (1 - t))).

The VLM prefix (images and instruction) is encoded once per chunk, as in ``sample_actions``;
only the action expert runs with gradients. The first ``prefix_steps`` actions of the result
are then set to the prefix exactly, since the robot executes those before the chunk arrives.
The registry loads flow checkpoints through ``load`` here, so every flow policy is guided.
"""

from __future__ import annotations

import copy
import threading
from typing import Any, TYPE_CHECKING

import numpy as np
from numpy.typing import NDArray
import torch

from vla_ros.core.errors import InputError
from vla_ros.core.types import ActionChunk
from vla_ros.policies.flow.model import FlowPolicy
from vla_ros.policies.flow.model import load as load_flow_policy

if TYPE_CHECKING:
    from pathlib import Path

    from transformers import PI0ForConditionalGeneration

    from vla_ros.core.config import PolicyConfig
    from vla_ros.core.types import Observation
    from vla_ros.policies.flow.config import FlowPolicyConfig
    from vla_ros.policies.flow.processor import FlowProcessor, ModelInputs

__all__ = ['DEFAULT_MAX_GUIDANCE_WEIGHT', 'GuidedFlowPolicy', 'guidance_weight', 'load']

#: beta, the largest guidance weight (the real-time chunking paper's evaluation uses 5).
DEFAULT_MAX_GUIDANCE_WEIGHT = 5.0


def guidance_weight(time: float, max_weight: float) -> float:
    """w(t) = min(beta, (t^2 + (1 - t)^2) / (t (1 - t))); beta at the ends, where it diverges.

    Args:
        time: flow time in [0, 1] (1: pure noise, 0: data).
        max_weight: beta.
    """
    if time <= 0.0 or time >= 1.0:
        return max_weight
    return min(max_weight, (time ** 2 + (1.0 - time) ** 2) / (time * (1.0 - time)))


class GuidedFlowPolicy(FlowPolicy):
    """A flow-matching policy whose chunks can be guided to continue a prefix.

    Guided samples draw their noise from a generator of their own, seeded from the config's
    ``noise_seed``, so a freshly loaded policy repeats its guided chunks too.
    """

    def __init__(self, model: PI0ForConditionalGeneration, processor: FlowProcessor,
                 config: FlowPolicyConfig, *, device: torch.device,
                 noise_scale: float = 1.0) -> None:
        super().__init__(model, processor, config, device=device, noise_scale=noise_scale)
        self._guided_device = device
        self._guided_generator = torch.Generator(device='cpu').manual_seed(config.noise_seed)
        self._guided_lock = threading.Lock()

    def infer_guided(self, observation: Observation, *, prefix_actions: NDArray[np.float64],
                     prefix_steps: int, weights: NDArray[np.float64],
                     max_guidance_weight: float = DEFAULT_MAX_GUIDANCE_WEIGHT) -> ActionChunk:
        """A chunk for ``observation`` that continues ``prefix_actions`` (see the module doc).

        Args:
            observation: as for ``infer``.
            prefix_actions: (chunk_length, J) absolute joint positions, rad.
            prefix_steps: leading steps set to ``prefix_actions`` exactly.
            weights: (chunk_length,) soft mask in [0, 1].
            max_guidance_weight: beta.

        Raises:
            InputError: the observation does not fit the spec, or the prefix has the wrong
                shape, non-finite values or weights outside [0, 1].
            PolicyOutputError: the model produced no valid chunk.
        """
        spec = self.spec
        self._check_prefix(prefix_actions, prefix_steps, weights)
        model = self.model
        dtype = next(model.parameters()).dtype
        inputs = self.processor.prepare(observation).to(self._guided_device, dtype)
        target = torch.zeros((1, model.config.chunk_size, model.config.max_action_dim),
                             dtype=torch.float32)
        mask = torch.zeros_like(target)
        width = len(spec.joint_names)
        normalized = self.config.normalization.actions.normalize(prefix_actions)
        target[0, :spec.chunk_length, :width] = torch.from_numpy(normalized)
        mask[0, :spec.chunk_length, :width] = torch.from_numpy(weights[:, np.newaxis])
        with self._guided_lock:
            noise = torch.randn(target.shape, generator=self._guided_generator,
                                dtype=torch.float32) * self.noise_scale
            actions = _guided_sample(
                model, inputs, noise.to(self._guided_device, dtype),
                target=target.to(self._guided_device, dtype),
                mask=mask.to(self._guided_device, dtype),
                num_steps=self.config.num_denoising_steps, max_weight=max_guidance_weight)
        chunk = self.processor.to_action_chunk(actions)
        positions = chunk.positions.copy()
        positions[:prefix_steps] = prefix_actions[:prefix_steps]
        return ActionChunk(chunk.joint_names, positions, chunk.dt_s)

    def _check_prefix(self, prefix_actions: NDArray[np.float64], prefix_steps: int,
                      weights: NDArray[np.float64]) -> None:
        spec = self.spec
        shape = (spec.chunk_length, len(spec.joint_names))
        if prefix_actions.shape != shape or not np.all(np.isfinite(prefix_actions)):
            raise InputError(f'infer_guided prefix_actions: shape {prefix_actions.shape!r}, '
                             f'expected finite {shape!r}')
        if weights.shape != (spec.chunk_length,) or not np.all((weights >= 0.0)
                                                                & (weights <= 1.0)):
            raise InputError(f'infer_guided weights: {weights!r}, expected '
                             f'({spec.chunk_length},) values in [0, 1]')
        if not 0 <= prefix_steps <= spec.chunk_length:
            raise InputError(f'infer_guided prefix_steps: {prefix_steps!r}, expected 0..'
                             f'{spec.chunk_length}')


def _prefix_cache(model: PI0ForConditionalGeneration, inputs: ModelInputs) -> Any:
    """The VLM's key/value cache of the images and the instruction (no gradients)."""
    with torch.no_grad():
        embeds = model.model.embed_prefix(inputs.input_ids, inputs.pixel_values,
                                          inputs.pixel_attention_mask)
        output = model.model.vlm(
            inputs_embeds=embeds, attention_mask=inputs.attention_mask,
            position_ids=inputs.attention_mask.cumsum(-1) - 1,
            token_type_ids=torch.zeros_like(embeds)[:, :, 0], use_cache=True)
    return output.past_key_values


def _guided_sample(model: PI0ForConditionalGeneration, inputs: ModelInputs,
                   noise: torch.Tensor, *, target: torch.Tensor, mask: torch.Tensor,
                   num_steps: int, max_weight: float) -> torch.Tensor:
    """Euler integration from noise (t = 1) to actions (t = 0) with prefix guidance."""
    prefix = _prefix_cache(model, inputs)
    sample = noise
    for step in range(num_steps):
        time = 1.0 - step / num_steps
        current = sample.detach().requires_grad_(True)
        with torch.enable_grad():
            velocity = model(
                state=inputs.state, noise=current,
                timestep=torch.full((1,), time, dtype=torch.float32, device=noise.device),
                pixel_attention_mask=inputs.pixel_attention_mask,
                attention_mask=inputs.attention_mask,
                past_key_values=copy.deepcopy(prefix)).logits
            clean = current - time * velocity
            error = mask * (target - clean.detach())
            (correction,) = torch.autograd.grad(clean, current, grad_outputs=error)
        guided = velocity.detach() - guidance_weight(time, max_weight) * correction
        sample = current.detach() - guided / num_steps
    return sample.detach()


def load(checkpoint_dir: Path, device: str, *,
         settings: PolicyConfig | None = None) -> GuidedFlowPolicy:
    """Load a flow checkpoint as a GuidedFlowPolicy (the registry's entry point for 'flow').

    ``settings`` is the config's ``policy`` section, as for ``flow.model.load``.

    Raises:
        ConfigError: as ``vla_ros.policies.flow.model.load``.
    """
    policy = load_flow_policy(checkpoint_dir, device, settings=settings)
    return GuidedFlowPolicy(policy.model, policy.processor, policy.config,
                            device=next(policy.model.parameters()).device,
                            noise_scale=policy.noise_scale)
