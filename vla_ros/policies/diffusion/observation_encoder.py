# SPDX-License-Identifier: Apache-2.0
# Copyright 2026 The vla_ros authors
"""The vision-language encoder: cameras, instruction and joint state -> one conditioning vector.

- The instruction's tokens go through a tiny BERT (transformers' ``BertModel``, no pooler);
  the mean of its last hidden states over the real tokens is the text embedding.
- Each camera has its own small CNN (the first two convolutions stride 2). FiLM layers driven
  by the text embedding scale and shift every block's channels, so the instruction can pick
  what the features respond to (the named cube's colour). A 1x1 convolution then makes
  ``keypoints`` heat maps, and a spatial softmax turns each into its expected image position
  (x, y in [-1, 1]), the keypoint readout of Levine et al. and of Diffusion Policy; the
  channel means of the last block are kept too.
- The normalized, zero-padded joint state joins the camera and text features, and an MLP
  maps everything to the ``cond_width`` vector that conditions the noise network.

Images arrive as uint8 (B, C, 3, H, W) and are scaled to [-1, 1] here, so training and
inference share the conversion.
"""

from __future__ import annotations

import math
from typing import TYPE_CHECKING

import torch
from torch import nn
from transformers import BertConfig, BertModel

if TYPE_CHECKING:
    from vla_ros.policies.diffusion.config import Architecture

__all__ = ['CameraEncoder', 'FiLM', 'ObservationEncoder', 'TextEncoder', 'group_norm']

#: Initial softmax temperature of the keypoint maps. At 1 the maps of a fresh network are
#: nearly uniform over the image (every keypoint at the centre, with tiny gradients) and the
#: keypoints barely learn; a lower start gives peaked maps that training can move.
_INITIAL_TEMPERATURE = 0.1


def group_norm(channels: int) -> nn.GroupNorm:
    """Group normalization with up to 8 groups that divide ``channels``."""
    return nn.GroupNorm(math.gcd(8, channels), channels)


class FiLM(nn.Module):
    """Feature-wise affine modulation: x * (1 + scale(c)) + shift(c) (Perez et al. 2018).

    Args:
        cond_width: width of the conditioning vector.
        channels: channels of the modulated features (axis 1).
    """

    def __init__(self, cond_width: int, channels: int) -> None:
        super().__init__()
        self.projection = nn.Linear(cond_width, 2 * channels)

    def forward(self, features: torch.Tensor, cond: torch.Tensor) -> torch.Tensor:
        """Modulate ``features`` (B, C, ...) by ``cond`` (B, cond_width)."""
        projected: torch.Tensor = self.projection(cond)
        scale, shift = projected.chunk(2, dim=1)
        shape = (*scale.shape, *([1] * (features.dim() - 2)))
        return features * (1.0 + scale.reshape(shape)) + shift.reshape(shape)


class TextEncoder(nn.Module):
    """A tiny BERT over the instruction tokens, mean-pooled over the real tokens.

    Args:
        arch: the text sizes (width, layers, heads, vocabulary, maximum tokens).
    """

    def __init__(self, arch: Architecture) -> None:
        super().__init__()
        config = BertConfig(
            vocab_size=arch.vocab_size, hidden_size=arch.text_width,
            num_hidden_layers=arch.text_layers, num_attention_heads=arch.text_heads,
            intermediate_size=2 * arch.text_width, max_position_embeddings=arch.max_text_tokens,
            type_vocab_size=1, hidden_dropout_prob=0.0, attention_probs_dropout_prob=0.0,
            pad_token_id=0)
        self.bert = BertModel(config, add_pooling_layer=False)

    def forward(self, input_ids: torch.Tensor, attention_mask: torch.Tensor) -> torch.Tensor:
        """(B, S) token ids and mask -> (B, text_width) embedding."""
        hidden = self.bert(input_ids=input_ids, attention_mask=attention_mask).last_hidden_state
        weights = attention_mask.to(hidden.dtype).unsqueeze(-1)
        pooled: torch.Tensor = (hidden * weights).sum(dim=1) / weights.sum(dim=1).clamp(min=1.0)
        return pooled


class CameraEncoder(nn.Module):
    """One camera's CNN with text FiLM and a spatial-softmax keypoint readout.

    Args:
        channels: output channels of each block; the first two blocks stride 2.
        keypoints: number of keypoints K.
        text_width: width of the text embedding that drives the FiLM layers.
    """

    def __init__(self, channels: tuple[int, ...], keypoints: int, text_width: int) -> None:
        super().__init__()
        convs, norms, films = [], [], []
        previous = 3
        for index, width in enumerate(channels):
            kernel = 5 if index == 0 else 3
            convs.append(nn.Conv2d(previous, width, kernel, stride=2 if index < 2 else 1,
                                   padding=kernel // 2))
            norms.append(group_norm(width))
            films.append(FiLM(text_width, width))
            previous = width
        self.convs, self.norms, self.films = (nn.ModuleList(convs), nn.ModuleList(norms),
                                              nn.ModuleList(films))
        self.keypoint_maps = nn.Conv2d(previous, keypoints, 1)
        self.log_temperature = nn.Parameter(torch.tensor(math.log(_INITIAL_TEMPERATURE)))

    def forward(self, pixels: torch.Tensor, text: torch.Tensor) -> torch.Tensor:
        """(B, 3, H, W) pixels in [-1, 1] and (B, text_width) -> (B, 2K + C_last) features."""
        features = pixels
        for conv, norm, film in zip(self.convs, self.norms, self.films):
            features = torch.relu(film(norm(conv(features)), text))
        maps = self.keypoint_maps(features)
        batch, count, height, width = maps.shape
        attention = torch.softmax(maps.flatten(2) / self.log_temperature.exp(), dim=-1)
        ys = torch.linspace(-1.0, 1.0, height, dtype=maps.dtype, device=maps.device)
        xs = torch.linspace(-1.0, 1.0, width, dtype=maps.dtype, device=maps.device)
        grid_y, grid_x = torch.meshgrid(ys, xs, indexing='ij')
        expected_x = (attention * grid_x.reshape(1, 1, -1)).sum(dim=-1)
        expected_y = (attention * grid_y.reshape(1, 1, -1)).sum(dim=-1)
        keypoints = torch.stack([expected_x, expected_y], dim=-1).reshape(batch, 2 * count)
        return torch.cat([keypoints, features.mean(dim=(2, 3))], dim=1)


class ObservationEncoder(nn.Module):
    """Cameras, instruction and state -> (B, cond_width) conditioning vector.

    Args:
        arch: network sizes.
        cameras: number of cameras, each with its own CNN.
    """

    def __init__(self, arch: Architecture, cameras: int) -> None:
        super().__init__()
        self.text = TextEncoder(arch)
        self.cameras = nn.ModuleList(
            CameraEncoder(arch.conv_channels, arch.keypoints, arch.text_width)
            for _ in range(cameras))
        camera_width = 2 * arch.keypoints + arch.conv_channels[-1]
        width = cameras * camera_width + arch.text_width + arch.max_state_dim
        self.mlp = nn.Sequential(nn.Linear(width, arch.cond_width), nn.Mish(),
                                 nn.Linear(arch.cond_width, arch.cond_width))

    def forward(self, images: torch.Tensor, input_ids: torch.Tensor,
                attention_mask: torch.Tensor, state: torch.Tensor) -> torch.Tensor:
        """Encode a batch.

        Args:
            images: (B, C, 3, H, W) uint8, cameras in spec order.
            input_ids: (B, S) int64 instruction tokens.
            attention_mask: (B, S) int64, 1 for real tokens.
            state: (B, max_state_dim) float normalized joint positions, zero-padded.
        """
        text = self.text(input_ids, attention_mask)
        pixels = images.to(state.dtype) / 127.5 - 1.0
        parts = [camera(pixels[:, index], text) for index, camera in enumerate(self.cameras)]
        cond: torch.Tensor = self.mlp(torch.cat([*parts, text, state], dim=1))
        return cond
