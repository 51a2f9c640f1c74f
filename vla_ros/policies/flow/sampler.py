# SPDX-License-Identifier: Apache-2.0
# Copyright 2026 The vla_ros authors
"""Our flow sampler for pi0: ``sample_actions`` with a static prefix cache and fixed shapes.

``FlowSampler`` runs a loaded ``PI0ForConditionalGeneration`` (its own modules and weights, no
copy) and computes what transformers' ``sample_actions`` computes, but:

- the prefix (images and prompt) goes through the language model once, and each layer's keys
  and values land in one buffer of fixed size, (layers, batch, kv heads, prefix + suffix,
  head dim), allocated once per sample (inside the graph's memory pool when replayed); the
  last layer runs only its key and value projections, as nothing reads its output;
- each Euler step runs the action expert over the suffix (state token and chunk) only; every
  expert layer writes its suffix keys and values into the buffer's tail and attends to the
  whole buffer under a mask built once per call. Nothing grows, is cropped or is synchronised
  with the host inside the loop, so every step has the same shapes;
- the attention is one SDPA call per layer with the query heads of each key/value head stacked
  along the sequence (PaliGemma has a single key/value head), instead of repeating the keys;
- ``compile=True`` wraps the prefix and the step in ``torch.compile``; ``cuda_graph=True``
  (CUDA only) captures the whole sample, prefix and loop, once per input shape and replays it.

The masks and positions are transformers' (PI0Model.forward, PaliGemma with token type 0):
prefix tokens see every real prefix token; the state token sees the prefix and itself; chunk
tokens see the prefix, the state and the whole chunk; padded prompt tokens are never seen.
Positions count real tokens from 0, the suffix continuing after the prefix.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from enum import Enum
import logging
from typing import Any, TYPE_CHECKING

import torch

from vla_ros.core.errors import ConfigError

if TYPE_CHECKING:
    from torch import nn
    from transformers import PI0ForConditionalGeneration

__all__ = ['FlowSampler', 'SampleInputs', 'SamplerBackend']

logger = logging.getLogger(__name__)


class SamplerBackend(Enum):
    """How a flow policy samples its chunks."""

    TRANSFORMERS = 'transformers'  #: transformers' ``sample_actions``, the reference
    EAGER = 'eager'  #: ``FlowSampler``, eager
    COMPILED = 'compiled'  #: ``FlowSampler`` under ``torch.compile``
    CUDA_GRAPH = 'cuda_graph'  #: ``FlowSampler`` replayed from CUDA graphs (CUDA only)
    COMPILED_CUDA_GRAPH = 'compiled_cuda_graph'  #: both

    @classmethod
    def default_for(cls, device: torch.device) -> SamplerBackend:
        """CUDA graphs on CUDA; eager on the CPU, where compiling costs a minute per load."""
        return cls.CUDA_GRAPH if device.type == 'cuda' else cls.EAGER

    def make_sampler(self, model: PI0ForConditionalGeneration) -> FlowSampler | None:
        """Our sampler for ``model`` with this backend's options; None for TRANSFORMERS."""
        if self is SamplerBackend.TRANSFORMERS:
            return None
        return FlowSampler(
            model, compile=self in (SamplerBackend.COMPILED, SamplerBackend.COMPILED_CUDA_GRAPH),
            cuda_graph=self in (SamplerBackend.CUDA_GRAPH, SamplerBackend.COMPILED_CUDA_GRAPH))


@dataclass(frozen=True, slots=True)
class SampleInputs:
    """One batch for the sampler: ``sample_actions``' keyword arguments, all on one device.

    Attributes:
        input_ids: (B, L) int64, image placeholders and prompt.
        attention_mask: (B, L) int64 or bool, 1 for real tokens, 0 for padding.
        pixel_values: (B, C, 3, H, W) model dtype, one slot per camera.
        pixel_attention_mask: (B, C) bool, True for cameras present.
        state: (B, max_state_dim) model dtype, normalized and zero-padded.
        noise: (B, chunk_size, max_action_dim) model dtype, the chunk at time 1.
    """

    input_ids: torch.Tensor
    attention_mask: torch.Tensor
    pixel_values: torch.Tensor
    pixel_attention_mask: torch.Tensor
    state: torch.Tensor
    noise: torch.Tensor

    def tensors(self) -> tuple[torch.Tensor, ...]:
        """The fields in declaration order."""
        return (self.input_ids, self.attention_mask, self.pixel_values,
                self.pixel_attention_mask, self.state, self.noise)


def _rotate(states: torch.Tensor, cos: torch.Tensor, sin: torch.Tensor) -> torch.Tensor:
    """Rotary embedding of (B, heads, S, D) ``states``; cos and sin are (B, S, D)."""
    half = states.shape[-1] // 2
    rotated = torch.cat((-states[..., half:], states[..., :half]), dim=-1)
    return states * cos[:, None] + rotated * sin[:, None]


def _heads(projection: nn.Module, normed: torch.Tensor, head_dim: int) -> torch.Tensor:
    """(B, S, width) -> (B, heads, S, head_dim)."""
    batch, length, _ = normed.shape
    projected: torch.Tensor = projection(normed)
    return projected.view(batch, length, -1, head_dim).transpose(1, 2)


def _attend(queries: torch.Tensor, keys: torch.Tensor, values: torch.Tensor,
            mask: torch.Tensor, scale: float) -> torch.Tensor:
    """Grouped-query attention as one SDPA call; returns (B, S, heads * head_dim).

    The G query heads of each key/value head are stacked along the sequence, (B, kv, G * S, D),
    so the keys are never repeated; ``mask`` is (B, 1, G * S, kv length) bool.
    """
    batch, heads, length, head_dim = queries.shape
    kv_heads = keys.shape[1]
    stacked = queries.reshape(batch, kv_heads, heads // kv_heads * length, head_dim)
    attended = torch.nn.functional.scaled_dot_product_attention(
        stacked, keys, values, attn_mask=mask, scale=scale)
    return attended.view(batch, heads, length, head_dim).transpose(1, 2).reshape(
        batch, length, heads * head_dim)


def _finish_layer(layer: Any, hidden: torch.Tensor, attended: torch.Tensor) -> torch.Tensor:
    """A Gemma decoder layer after its attention: output projection, residuals and MLP."""
    hidden = hidden + layer.self_attn.o_proj(attended)
    result: torch.Tensor = hidden + layer.mlp(layer.post_attention_layernorm(hidden))
    return result


def _check_architecture(model: PI0ForConditionalGeneration) -> None:
    # transformers types the sub-configs as dict | PreTrainedConfig | None.
    vlm_config: Any = model.config.vlm_config
    expert: Any = model.config.dit_config
    text = vlm_config.text_config
    problems = [f'{name}.model_type is {config.model_type!r}, expected gemma'
                for name, config in (('text_config', text), ('dit_config', expert))
                if config.model_type != 'gemma']
    for field in ('num_hidden_layers', 'num_attention_heads', 'num_key_value_heads', 'head_dim'):
        if getattr(text, field) != getattr(expert, field):
            problems.append(f'{field}: language model {getattr(text, field)}, action expert '
                            f'{getattr(expert, field)}; the expert reads the prefix cache')
    if problems:
        raise ConfigError('FlowSampler: the model is not a Gemma pi0: ' + '; '.join(problems))


class FlowSampler:
    """Flow-matching sampling for a ``PI0ForConditionalGeneration``, equal to ``sample_actions``.

    Args:
        model: the transformers model in eval mode; its modules are used, not copied.
        compile: wrap the prefix pass and the denoising step in ``torch.compile`` (CPU and
            CUDA). The first call per input shape compiles, which takes seconds to minutes.
        cuda_graph: capture each input shape's whole sample in a CUDA graph on its first call
            and replay it afterwards (a model on CUDA only).

    Raises:
        ConfigError: the model is not a Gemma pi0, or ``cuda_graph`` for a model not on CUDA.
    """

    def __init__(self, model: PI0ForConditionalGeneration, *, compile: bool = False,
                 cuda_graph: bool = False) -> None:
        _check_architecture(model)
        device = next(model.parameters()).device
        if cuda_graph and device.type != 'cuda':
            raise ConfigError(f'FlowSampler: cuda_graph needs a model on CUDA, it is on {device}')
        self._model = model
        self._language_model = model.model.vlm.language_model
        self._expert = model.model.dit
        vlm_config: Any = model.config.vlm_config
        text = vlm_config.text_config
        self._head_dim: int = text.head_dim
        self._kv_heads: int = text.num_key_value_heads
        self._groups: int = text.num_attention_heads // text.num_key_value_heads
        self._scale: float = text.head_dim ** -0.5
        self._cuda_graph = cuda_graph
        self._graphs: dict[tuple[Any, ...], _CapturedSample] = {}
        self._prefix: Callable[..., None] = self._encode_prefix
        self._velocity: Callable[..., torch.Tensor] = self._predict_velocity
        if compile:
            self._prefix = torch.compile(self._encode_prefix, dynamic=False)
            self._velocity = torch.compile(self._predict_velocity, dynamic=False)
        logger.debug('flow sampler: static prefix cache, %s%s', 'compiled' if compile else 'eager',
                    ', CUDA graphs' if cuda_graph else '')

    @torch.inference_mode()
    def sample(self, inputs: SampleInputs, *, num_steps: int) -> torch.Tensor:
        """The chunk at time 0 after ``num_steps`` Euler steps, as ``sample_actions`` returns it.

        Returns:
            (B, chunk_size, max_action_dim) in the noise's dtype.
        """
        if not self._cuda_graph:
            return self._run(*inputs.tensors(), num_steps=num_steps)
        key = (num_steps, *((tensor.shape, tensor.dtype) for tensor in inputs.tensors()))
        if key not in self._graphs:
            self._graphs[key] = _CapturedSample(
                lambda *tensors: self._run(*tensors, num_steps=num_steps), inputs.tensors())
        return self._graphs[key].replay(inputs.tensors())

    def _run(self, input_ids: torch.Tensor, attention_mask: torch.Tensor,
             pixel_values: torch.Tensor, pixel_attention_mask: torch.Tensor, state: torch.Tensor,
             noise: torch.Tensor, *, num_steps: int) -> torch.Tensor:
        batch, prefix_length = input_ids.shape
        suffix_length = noise.shape[1] + 1
        cache_shape = (len(self._language_model.layers), batch, self._kv_heads,
                       prefix_length + suffix_length, self._head_dim)
        keys, values = noise.new_zeros(cache_shape), noise.new_zeros(cache_shape)
        real_tokens = attention_mask.bool()
        self._prefix(input_ids, real_tokens, pixel_values, pixel_attention_mask, keys, values)
        mask, positions = self._suffix_mask_and_positions(real_tokens, suffix_length)
        dt = -1.0 / num_steps
        # 1 + step * dt in double, then float32, as sample_actions rounds its Python floats.
        times = (1.0 + dt * torch.arange(num_steps, dtype=torch.float64, device=noise.device)
                 ).float()
        actions = noise.clone()  # an inference tensor, as every later step's: one compilation
        for step in range(num_steps):
            velocity = self._velocity(actions, times[step].expand(batch), state, mask,
                                      positions, keys, values)
            actions = actions + dt * velocity
        return actions

    def _suffix_mask_and_positions(self, real_tokens: torch.Tensor, suffix_length: int
                                   ) -> tuple[torch.Tensor, torch.Tensor]:
        """The expert's (B, 1, G * S, P + S) mask and (B, S) positions; S = 1 + chunk."""
        batch, prefix_length = real_tokens.shape
        suffix = torch.ones(suffix_length, suffix_length, dtype=torch.bool,
                            device=real_tokens.device)
        suffix[0, 1:] = False  # the state token does not see the chunk
        mask = torch.cat([real_tokens[:, None, :].expand(batch, suffix_length, prefix_length),
                          suffix.expand(batch, -1, -1)], dim=2)
        positions = real_tokens.sum(-1, keepdim=True) + torch.arange(
            suffix_length, device=real_tokens.device)
        return mask.repeat(1, self._groups, 1)[:, None], positions

    def _encode_prefix(self, input_ids: torch.Tensor, real_tokens: torch.Tensor,
                       pixel_values: torch.Tensor, pixel_attention_mask: torch.Tensor,
                       keys: torch.Tensor, values: torch.Tensor) -> None:
        """Write every language-model layer's prefix keys and values into the buffers' head."""
        hidden = self._model.model.embed_prefix(input_ids, pixel_values, pixel_attention_mask)
        batch, prefix_length, _ = hidden.shape
        positions = real_tokens.long().cumsum(-1) - 1
        cos, sin = self._language_model.rotary_emb(hidden, positions)
        mask = real_tokens[:, None, None, :].expand(
            batch, 1, self._groups * prefix_length, prefix_length)
        layers = self._language_model.layers
        for index, layer in enumerate(layers):
            normed = layer.input_layernorm(hidden)
            attention = layer.self_attn
            layer_keys = _rotate(_heads(attention.k_proj, normed, self._head_dim), cos, sin)
            layer_values = _heads(attention.v_proj, normed, self._head_dim)
            keys[index, :, :, :prefix_length] = layer_keys
            values[index, :, :, :prefix_length] = layer_values
            if index == len(layers) - 1:
                break  # nothing reads the last layer's output
            queries = _rotate(_heads(attention.q_proj, normed, self._head_dim), cos, sin)
            hidden = _finish_layer(layer, hidden, _attend(
                queries, layer_keys, layer_values, mask, self._scale))

    def _predict_velocity(self, actions: torch.Tensor, time: torch.Tensor, state: torch.Tensor,
                          mask: torch.Tensor, positions: torch.Tensor, keys: torch.Tensor,
                          values: torch.Tensor) -> torch.Tensor:
        """The expert's velocity for the chunk ``actions`` at ``time`` (B,), one Euler step."""
        hidden = self._model.embed_action_time(state, actions, time)
        start = keys.shape[3] - hidden.shape[1]
        cos, sin = self._expert.rotary_emb(hidden, positions)
        for index, layer in enumerate(self._expert.layers):
            normed = layer.input_layernorm(hidden)
            attention = layer.self_attn
            queries = _rotate(_heads(attention.q_proj, normed, self._head_dim), cos, sin)
            keys[index, :, :, start:] = _rotate(
                _heads(attention.k_proj, normed, self._head_dim), cos, sin)
            values[index, :, :, start:] = _heads(attention.v_proj, normed, self._head_dim)
            hidden = _finish_layer(layer, hidden, _attend(
                queries, keys[index], values[index], mask, self._scale))
        hidden = self._expert.norm(hidden)
        velocity: torch.Tensor = self._model.action_out_proj(hidden[:, -actions.shape[1]:])
        return velocity


class _CapturedSample:
    """One input shape's whole sample captured in a CUDA graph, with static input buffers."""

    def __init__(self, run: Callable[..., torch.Tensor],
                 tensors: tuple[torch.Tensor, ...]) -> None:
        self._inputs = tuple(tensor.clone() for tensor in tensors)
        side = torch.cuda.Stream()  # type: ignore[no-untyped-call]
        side.wait_stream(torch.cuda.current_stream())
        with torch.cuda.stream(side):
            for _ in range(2):  # allocator warm-up (and compilation when compiled)
                run(*self._inputs)
        torch.cuda.current_stream().wait_stream(side)
        self._graph = torch.cuda.CUDAGraph()
        # thread_local: CUDA calls of other threads (the node's) do not break this capture.
        with torch.cuda.graph(self._graph, capture_error_mode='thread_local'):
            self._output = run(*self._inputs)

    def replay(self, tensors: tuple[torch.Tensor, ...]) -> torch.Tensor:
        """Copy ``tensors`` into the static inputs, replay, and return a copy of the output."""
        for static, tensor in zip(self._inputs, tensors, strict=True):
            static.copy_(tensor)
        self._graph.replay()
        return self._output.clone()
