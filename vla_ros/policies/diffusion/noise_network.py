# SPDX-License-Identifier: Apache-2.0
# Copyright 2026 The vla_ros authors
"""The noise-prediction network: a 1-D U-Net over the chunk's time axis with FiLM conditioning.

The chunk (B, L, D) is read as D channels over L time steps. Each level (and the middle)
has two residual blocks (convolution, group norm, Mish) whose channels are scaled and shifted
by FiLM from the conditioning vector: the observation embedding joined with a sinusoidal
embedding of the diffusion step. Levels are joined by stride-2 convolutions down and
transposed convolutions up, with skip connections, as in Diffusion Policy's temporal U-Net
(Chi et al. 2023). The time axis is zero-padded to a multiple of 2^(levels - 1) and cropped
back, so any chunk length works.
"""

from __future__ import annotations

import math
from typing import TYPE_CHECKING

import torch
from torch import nn

from vla_ros.policies.diffusion.observation_encoder import FiLM, group_norm

if TYPE_CHECKING:
    from vla_ros.policies.diffusion.config import Architecture

__all__ = ['Level', 'NoiseNetwork', 'ResidualBlock', 'sinusoidal_embedding']


def sinusoidal_embedding(timesteps: torch.Tensor, width: int) -> torch.Tensor:
    """(B,) diffusion steps -> (B, width) sin/cos features at geometric frequencies."""
    half = width // 2
    frequencies = torch.exp(-math.log(10_000.0) * torch.arange(
        half, dtype=torch.float32, device=timesteps.device) / max(half - 1, 1))
    angles = timesteps.to(torch.float32).unsqueeze(1) * frequencies.unsqueeze(0)
    return torch.cat([angles.sin(), angles.cos()], dim=1)


def _conv_block(in_channels: int, out_channels: int, kernel_size: int) -> nn.Sequential:
    return nn.Sequential(nn.Conv1d(in_channels, out_channels, kernel_size,
                                   padding=kernel_size // 2),
                         group_norm(out_channels), nn.Mish())


class ResidualBlock(nn.Module):
    """Two conv blocks with FiLM in between, plus a (projected) skip of the input.

    Args:
        in_channels: input channels.
        out_channels: output channels.
        cond_width: width of the conditioning vector.
        kernel_size: temporal kernel, odd.
    """

    def __init__(self, in_channels: int, out_channels: int, cond_width: int,
                 kernel_size: int) -> None:
        super().__init__()
        self.first = _conv_block(in_channels, out_channels, kernel_size)
        self.film = FiLM(cond_width, out_channels)
        self.second = _conv_block(out_channels, out_channels, kernel_size)
        self.skip = (nn.Conv1d(in_channels, out_channels, 1) if in_channels != out_channels
                     else nn.Identity())

    def forward(self, features: torch.Tensor, cond: torch.Tensor) -> torch.Tensor:
        """(B, in, L) and (B, cond_width) -> (B, out, L)."""
        hidden = self.film(self.first(features), cond)
        output: torch.Tensor = self.second(hidden) + self.skip(features)
        return output


class Level(nn.Module):
    """Two residual blocks at one resolution of the U-Net.

    Args:
        in_channels: input channels.
        out_channels: output channels of both blocks.
        cond_width: width of the conditioning vector.
        kernel_size: temporal kernel, odd.
    """

    def __init__(self, in_channels: int, out_channels: int, cond_width: int,
                 kernel_size: int) -> None:
        super().__init__()
        self.first = ResidualBlock(in_channels, out_channels, cond_width, kernel_size)
        self.second = ResidualBlock(out_channels, out_channels, cond_width, kernel_size)

    def forward(self, features: torch.Tensor, cond: torch.Tensor) -> torch.Tensor:
        """(B, in, L) and (B, cond_width) -> (B, out, L)."""
        output: torch.Tensor = self.second(self.first(features, cond), cond)
        return output


class NoiseNetwork(nn.Module):
    """Predicts the noise in a noisy chunk, given the step and the observation embedding.

    Args:
        arch: the U-Net widths, kernel, step-embedding width, action width and cond width.
    """

    def __init__(self, arch: Architecture) -> None:
        super().__init__()
        self.time_width = arch.time_width
        self.time_mlp = nn.Sequential(nn.Linear(arch.time_width, 2 * arch.time_width), nn.Mish(),
                                      nn.Linear(2 * arch.time_width, arch.time_width))
        cond_width = arch.cond_width + arch.time_width
        kernel, widths = arch.kernel_size, arch.unet_widths
        self.levels = len(widths)
        self.down, self.down_samples = nn.ModuleList(), nn.ModuleList()
        previous = arch.max_action_dim
        for index, width in enumerate(widths):
            self.down.append(Level(previous, width, cond_width, kernel))
            if index + 1 < self.levels:
                self.down_samples.append(nn.Conv1d(width, width, 3, stride=2, padding=1))
            previous = width
        self.middle = Level(previous, previous, cond_width, kernel)
        self.up, self.up_samples = nn.ModuleList(), nn.ModuleList()
        for lower, upper in reversed(list(zip(widths[:-1], widths[1:]))):
            self.up.append(Level(2 * upper, lower, cond_width, kernel))
            self.up_samples.append(nn.ConvTranspose1d(lower, lower, 4, stride=2, padding=1))
        self.head = nn.Sequential(_conv_block(widths[0], widths[0], kernel),
                                  nn.Conv1d(widths[0], arch.max_action_dim, 1))

    def forward(self, noisy: torch.Tensor, timesteps: torch.Tensor,
                cond: torch.Tensor) -> torch.Tensor:
        """Predict the noise.

        Args:
            noisy: (B, L, max_action_dim) noisy normalized chunk.
            timesteps: (B,) int64 diffusion steps.
            cond: (B, cond_width) observation embedding.

        Returns:
            (B, L, max_action_dim) predicted noise.
        """
        length = noisy.shape[1]
        multiple = 2 ** (self.levels - 1)
        padded = -(-length // multiple) * multiple
        features = nn.functional.pad(noisy.transpose(1, 2), (0, padded - length))
        step = self.time_mlp(sinusoidal_embedding(timesteps, self.time_width).to(noisy.dtype))
        cond = torch.cat([cond, step], dim=1)
        skips = []
        for index, level in enumerate(self.down):
            features = level(features, cond)
            skips.append(features)
            if index + 1 < self.levels:
                features = self.down_samples[index](features)
        features = self.middle(features, cond)
        for level, up_sample in zip(self.up, self.up_samples):
            features = up_sample(level(torch.cat([features, skips.pop()], dim=1), cond))
        noise: torch.Tensor = self.head(features)[:, :, :length].transpose(1, 2)
        return noise
