# SPDX-License-Identifier: Apache-2.0
# Copyright 2026 The vla_ros authors
"""The pi0.5 network on transformers' PaliGemma and Gemma modules, and its flow sampler.

The layout and the arithmetic are openpi's and LeRobot's (``PI05Pytorch``), with the module
names LeRobot saves, so a folder's tensors map one to one: ``paligemma_with_expert.paligemma``
is transformers' ``PaliGemmaForConditionalGeneration``; ``paligemma_with_expert.gemma_expert``
holds a Gemma stack whose RMS norms are adaRMS (``AdaptiveRMSNorm``: a dense layer maps the
flow-time embedding to a scale, a shift and a residual gate); ``action_in_proj`` embeds the
noisy actions; ``time_mlp_in``/``time_mlp_out`` turn the sinusoidal time embedding into the
adaRMS condition; ``action_out_proj`` reads the velocity. There is no state projection: the
state reaches the model as text in the prompt.

Sampling runs the prefix (images through SigLIP and the projector, prompt tokens through the
scaled embedding) once through the PaliGemma layers, keeping each layer's keys and values;
then ``num_steps`` Euler steps (t from 1 to 0, dt = -1/num_steps) run only the expert, its
action tokens attending to the valid prefix and to each other. The layer loop is ours, built
from the transformers layers' projections, MLP, rotary embedding and norms, because
transformers' Gemma layer has neither adaRMS nor gated residuals. Masked positions get
openpi's large negative bias (not -inf), so padding rows stay finite.
"""

from __future__ import annotations

from dataclasses import dataclass
import math
from typing import cast, TYPE_CHECKING

import torch
from torch import nn
import torch.nn.functional as F  # noqa: N812
from transformers import GemmaModel, PaliGemmaForConditionalGeneration
from transformers.models.gemma.modeling_gemma import apply_rotary_pos_emb

if TYPE_CHECKING:
    from transformers import GemmaConfig, PaliGemmaConfig
    from transformers.models.gemma.modeling_gemma import GemmaDecoderLayer

__all__ = ['AdaptiveRMSNorm', 'FlowSettings', 'Pi05Network', 'PrefixInputs']

#: openpi's attention bias for masked positions, as a fraction of the dtype's largest value.
_MASKED_FRACTION = 0.7


class AdaptiveRMSNorm(nn.Module):
    """RMS norm whose scale, shift and residual gate come from a condition (adaRMS).

    Args:
        width: features normalised (and of the condition).
        eps: added to the mean square.
    """

    def __init__(self, width: int, eps: float) -> None:
        super().__init__()
        self.eps = eps
        self.dense = nn.Linear(width, 3 * width)

    def forward(self, hidden: torch.Tensor, cond: torch.Tensor
                ) -> tuple[torch.Tensor, torch.Tensor]:
        """(B, T, W) hidden, (B, W) condition -> (normalised hidden, gate for the residual)."""
        variance = hidden.float().pow(2).mean(-1, keepdim=True)
        normed = hidden * torch.rsqrt(variance + self.eps)
        scale, shift, gate = self.dense(cond)[:, None, :].chunk(3, dim=-1)
        modulated = normed * (1.0 + scale.float()) + shift.float()
        return modulated.to(hidden.dtype), gate.to(hidden.dtype)


@dataclass(frozen=True, slots=True)
class FlowSettings:
    """Shapes and constants of the action side (LeRobot's config keys)."""

    chunk_size: int
    max_action_dim: int
    min_period: float = 4e-3
    max_period: float = 4.0


@dataclass(frozen=True, slots=True)
class PrefixInputs:
    """One observation as the network takes it.

    Attributes:
        pixel_values: (B, C, 3, H, W) float in [-1, 1], the present cameras in model order.
        tokens: (B, L) int64 prompt tokens, right-padded.
        token_mask: (B, L) bool, True for real tokens.
    """

    pixel_values: torch.Tensor
    tokens: torch.Tensor
    token_mask: torch.Tensor


def _bias(allowed: torch.Tensor, dtype: torch.dtype) -> torch.Tensor:
    """(B, Q, K) bool -> (B, 1, Q, K) additive attention bias."""
    masked = -_MASKED_FRACTION * torch.finfo(dtype).max
    return torch.where(allowed, 0.0, masked).to(dtype)[:, None]


def _gated(residual: torch.Tensor, update: torch.Tensor, gate: torch.Tensor | None
           ) -> torch.Tensor:
    return residual + update if gate is None else residual + update * gate


def _norm(norm: nn.Module, hidden: torch.Tensor, cond: torch.Tensor | None
          ) -> tuple[torch.Tensor, torch.Tensor | None]:
    if isinstance(norm, AdaptiveRMSNorm):
        assert cond is not None
        return norm(hidden, cond)  # type: ignore[no-any-return]
    return norm(hidden), None


def _layer(layer: GemmaDecoderLayer, hidden: torch.Tensor, *, rotary: tuple[torch.Tensor, ...],
           bias: torch.Tensor, cond: torch.Tensor | None = None,
           cached: tuple[torch.Tensor, torch.Tensor] | None = None,
           ) -> tuple[torch.Tensor, tuple[torch.Tensor, torch.Tensor]]:
    """One Gemma layer; returns the new hidden states and this block's (keys, values)."""
    attention = layer.self_attn
    normed, gate = _norm(layer.input_layernorm, hidden, cond)
    shape = (*hidden.shape[:-1], -1, attention.head_dim)
    query = attention.q_proj(normed).view(shape).transpose(1, 2)
    key = attention.k_proj(normed).view(shape).transpose(1, 2)
    value = attention.v_proj(normed).view(shape).transpose(1, 2)
    query, key = apply_rotary_pos_emb(query, key, rotary[0], rotary[1])
    keys, values = (key, value) if cached is None else (
        torch.cat([cached[0], key], dim=2), torch.cat([cached[1], value], dim=2))
    attended = F.scaled_dot_product_attention(query, keys, values, attn_mask=bias,
                                              scale=attention.scaling, enable_gqa=True)
    hidden = _gated(hidden, attention.o_proj(attended.transpose(1, 2).flatten(2)), gate)
    normed, gate = _norm(layer.post_attention_layernorm, hidden, cond)
    return _gated(hidden, layer.mlp(normed), gate), (key, value)


class _Expert(nn.Module):
    """Holds the expert's Gemma stack under ``model``, the name LeRobot saves it under."""

    def __init__(self, model: GemmaModel) -> None:
        super().__init__()
        self.model = model


class _PaliGemmaWithExpert(nn.Module):
    def __init__(self, vlm_config: PaliGemmaConfig, expert_config: GemmaConfig) -> None:
        super().__init__()
        self.paligemma = PaliGemmaForConditionalGeneration(vlm_config)
        expert = GemmaModel(expert_config)
        expert.embed_tokens = None  # type: ignore[assignment]  # the expert embeds no tokens
        width, eps = expert_config.hidden_size, expert_config.rms_norm_eps
        for layer in expert.layers:
            layer.input_layernorm = AdaptiveRMSNorm(width, eps)
            layer.post_attention_layernorm = AdaptiveRMSNorm(width, eps)
        expert.norm = AdaptiveRMSNorm(width, eps)  # type: ignore[assignment]
        self.gemma_expert = _Expert(expert)


class Pi05Network(nn.Module):
    """pi0.5: PaliGemma, an adaRMS action expert and the action/time projections (module doc).

    Args:
        vlm_config: transformers' PaliGemma config (SigLIP and the language model).
        expert_config: transformers' Gemma config of the action expert.
        settings: chunk size, padded action width and the time embedding's periods.
    """

    def __init__(self, vlm_config: PaliGemmaConfig, expert_config: GemmaConfig,
                 settings: FlowSettings) -> None:
        super().__init__()
        width = expert_config.hidden_size
        self.settings = settings
        self.paligemma_with_expert = _PaliGemmaWithExpert(vlm_config, expert_config)
        self.action_in_proj = nn.Linear(settings.max_action_dim, width)
        self.action_out_proj = nn.Linear(width, settings.max_action_dim)
        self.time_mlp_in = nn.Linear(width, width)
        self.time_mlp_out = nn.Linear(width, width)

    @property
    def _language_model(self) -> GemmaModel:
        return cast('GemmaModel', self.paligemma_with_expert.paligemma.model.language_model)

    @property
    def _expert(self) -> GemmaModel:
        return self.paligemma_with_expert.gemma_expert.model

    def embed_prefix(self, inputs: PrefixInputs) -> tuple[torch.Tensor, torch.Tensor]:
        """Images then prompt tokens -> ((B, P, W) embeddings, (B, P) validity)."""
        paligemma = self.paligemma_with_expert.paligemma
        batch, cameras = inputs.pixel_values.shape[:2]
        features = paligemma.model.get_image_features(
            inputs.pixel_values.flatten(0, 1)).pooler_output
        images = features.reshape(batch, -1, features.shape[-1])
        text = self._language_model.embed_tokens(inputs.tokens)
        valid = torch.cat([torch.ones(images.shape[:2], dtype=torch.bool,
                                      device=images.device), inputs.token_mask.bool()], dim=1)
        return torch.cat([images.to(text.dtype), text], dim=1), valid

    def prefix_cache(self, embeds: torch.Tensor, valid: torch.Tensor
                     ) -> list[tuple[torch.Tensor, torch.Tensor]]:
        """Run the prefix through the PaliGemma layers; each layer's (keys, values)."""
        model = self._language_model
        positions = valid.long().cumsum(-1) - 1
        rotary = model.rotary_emb(embeds, positions)
        bias = _bias(valid[:, None, :] & valid[:, :, None], embeds.dtype)
        hidden, cache = embeds, []
        for layer in model.layers:
            hidden, keys_values = _layer(cast('GemmaDecoderLayer', layer), hidden,
                                         rotary=rotary, bias=bias)
            cache.append(keys_values)
        return cache

    def time_condition(self, time: torch.Tensor) -> torch.Tensor:
        """(B,) flow time -> (B, W) adaRMS condition (sinusoid in float64, then the MLP)."""
        half = self.time_mlp_in.in_features // 2
        fraction = torch.linspace(0.0, 1.0, half, dtype=torch.float64, device=time.device)
        period = self.settings.min_period * (
            self.settings.max_period / self.settings.min_period) ** fraction
        angle = (2 * math.pi / period)[None, :] * time[:, None]
        sinusoid = torch.cat([angle.sin(), angle.cos()], dim=1).to(time.dtype)
        dtype = self.time_mlp_in.weight.dtype
        hidden = F.silu(self.time_mlp_in(sinusoid.to(dtype)))
        return F.silu(self.time_mlp_out(hidden))

    def velocity(self, cache: list[tuple[torch.Tensor, torch.Tensor]], valid: torch.Tensor,
                 noisy: torch.Tensor, time: torch.Tensor) -> torch.Tensor:
        """One expert pass: (B, T, A) float32 noisy actions at ``time`` -> float32 velocity."""
        expert = self._expert
        cond = self.time_condition(time)
        hidden = self.action_in_proj(noisy.to(self.action_in_proj.weight.dtype))
        batch, steps = hidden.shape[:2]
        positions = valid.sum(-1, keepdim=True) + torch.arange(steps, device=hidden.device)
        rotary = expert.rotary_emb(hidden, positions)
        allowed = torch.cat([valid[:, None, :].expand(batch, steps, valid.shape[1]),
                             torch.ones(batch, steps, steps, dtype=torch.bool,
                                        device=hidden.device)], dim=2)
        bias = _bias(allowed, hidden.dtype)
        for layer, cached in zip(expert.layers, cache, strict=True):
            hidden, _ = _layer(cast('GemmaDecoderLayer', layer), hidden, rotary=rotary,
                               bias=bias, cond=cond, cached=cached)
        hidden, _ = cast('AdaptiveRMSNorm', expert.norm)(hidden, cond)
        out_dtype = self.action_out_proj.weight.dtype
        velocity: torch.Tensor = self.action_out_proj(hidden[:, -steps:].to(out_dtype))
        return velocity.float()

    @torch.no_grad()
    def sample(self, inputs: PrefixInputs, noise: torch.Tensor, num_steps: int) -> torch.Tensor:
        """Euler-integrate from ``noise`` (B, chunk, max_action_dim) to the normalised chunk."""
        embeds, valid = self.embed_prefix(inputs)
        cache = self.prefix_cache(embeds, valid)
        delta = -1.0 / num_steps
        actions = noise.float()
        for step in range(num_steps):
            time = torch.full((actions.shape[0],), 1.0 + step * delta, dtype=torch.float32,
                              device=actions.device)
            actions = actions + delta * self.velocity(cache, valid, actions, time)
        return actions
