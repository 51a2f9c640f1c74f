# SPDX-License-Identifier: Apache-2.0
# Copyright 2026 The vla_ros authors
"""The one interface every policy family implements: observation in, action chunk out."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Protocol, TYPE_CHECKING

if TYPE_CHECKING:
    from vla_ros.core.types import ActionChunk, Observation

__all__ = ['Policy', 'PolicySpec']


@dataclass(frozen=True, slots=True)
class PolicySpec:
    """What a policy needs and produces; stored with its checkpoint.

    Attributes:
        joint_names: the joints the action columns drive, in order.
        camera_names: the cameras it reads, in the order the model sees them.
        image_height: height every camera image must have, pixels.
        image_width: width every camera image must have, pixels.
        chunk_length: time steps per action chunk.
        dt_s: time between chunk steps, seconds.
    """

    joint_names: tuple[str, ...]
    camera_names: tuple[str, ...]
    image_height: int
    image_width: int
    chunk_length: int
    dt_s: float


class Policy(Protocol):
    """A loaded policy. ``infer`` may block for the length of one inference."""

    @property
    def spec(self) -> PolicySpec:
        """The policy's fixed input and output contract."""
        ...

    def infer(self, observation: Observation) -> ActionChunk:
        """Compute the next action chunk (absolute joint positions) for ``observation``.

        Raises:
            InputError: the observation does not fit ``spec`` (missing camera, wrong size).
            PolicyOutputError: the model produced no valid chunk.
        """
        ...
