# SPDX-License-Identifier: Apache-2.0
# Copyright 2026 The vla_ros authors
"""The one interface every policy family implements: observation in, action chunk out.

``Policy`` and its ``PolicySpec`` live in ``core`` (numpy only) because every layer speaks
them: families implement them (``vla_ros.policies``), the runner executes them
(``vla_ros.execution``), the offline evaluation replays them (``vla_ros.data``). None of those
layers has to import another to agree on the contract.

``GuidedPolicy`` is an optional extension: inference guided towards a given prefix of actions.
Real-time chunking (``vla_ros.execution.rtc``) needs the new chunk to continue the running
one: its first ``prefix_steps`` actions are fixed and the following ones are pulled towards
``prefix_actions`` with ``weights``. A policy family that can do this inside its own sampling
(inpainting guidance of a flow-matching sampler) implements ``infer_guided``; for every other
policy the runner blends the plain chunk with the prefix instead.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
import math
import numbers
from typing import Protocol, runtime_checkable, TYPE_CHECKING

from vla_ros.core.errors import ConfigError

if TYPE_CHECKING:
    from pathlib import Path

    import numpy as np
    from numpy.typing import NDArray

    from vla_ros.core.config import PolicyConfig
    from vla_ros.core.policy_family import PolicyFamily
    from vla_ros.core.types import ActionChunk, Observation

__all__ = ['GuidedPolicy', 'Policy', 'PolicyLoader', 'PolicySpec', 'as_guided',
           'outputs_offsets']


@dataclass(frozen=True, slots=True)
class PolicySpec:
    """What a policy needs and produces; stored with its checkpoint.

    Checked at construction, so a spec that exists is valid: at least one joint; joint and
    camera names unique and non-empty (a policy may read no camera); sizes and chunk length
    integers >= 1; ``dt_s`` a finite number > 0. Name sequences become tuples, integral sizes
    ``int`` and ``dt_s`` a ``float``.

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

    def __post_init__(self) -> None:
        """Check every field (class doc).

        Raises:
            ConfigError: naming the field (``spec.<field>``), the value and what was expected.
        """
        for key, least in (('joint_names', 1), ('camera_names', 0)):
            object.__setattr__(self, key, _checked_names(getattr(self, key), key, least))
        for key in ('image_height', 'image_width', 'chunk_length'):
            value = getattr(self, key)
            if isinstance(value, bool) or not isinstance(value, numbers.Integral) or value < 1:
                raise ConfigError(f'spec.{key}: {value!r}, expected an integer >= 1')
            object.__setattr__(self, key, int(value))
        dt_s = self.dt_s
        if isinstance(dt_s, bool) or not isinstance(dt_s, numbers.Real) or not (
                math.isfinite(dt_s) and dt_s > 0):
            raise ConfigError(f'spec.dt_s: {dt_s!r}, expected a finite number of seconds > 0')
        object.__setattr__(self, 'dt_s', float(dt_s))


def _checked_names(names: object, key: str, least: int) -> tuple[str, ...]:
    """``names`` as a tuple of unique non-empty strings, at least ``least`` of them.

    Raises:
        ConfigError: anything else, naming ``spec.<key>``.
    """
    if isinstance(names, str) or not isinstance(names, Sequence) or len(names) < least or not all(
            isinstance(name, str) and name for name in names) or len(set(names)) != len(names):
        at_least = ', at least one' if least else ''
        raise ConfigError(f'spec.{key}: {list(names) if isinstance(names, tuple) else names!r}, '
                          f'expected unique non-empty names{at_least}')
    return tuple(names)


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


class PolicyLoader(Protocol):
    """Loads a configured policy: ``vla_ros.policies.registry.load_policy`` is the one.

    The layers that run a policy (``vla_ros.execution.policy_setup``) take it as an argument
    from the layer above (the policy node), so they never import ``vla_ros.policies``.
    """

    def __call__(self, family: PolicyFamily, checkpoint_dir: Path | None, *, device: str,
                 threads: int | None, settings: PolicyConfig | None) -> Policy:
        """Load ``family``'s policy from ``checkpoint_dir`` (or its server) onto ``device``.

        Raises:
            ConfigError: an unknown family, or a checkpoint or server that cannot be loaded.
        """
        ...


@runtime_checkable
class GuidedPolicy(Protocol):
    """A ``Policy`` that can also sample a chunk that continues a given prefix."""

    @property
    def spec(self) -> PolicySpec:
        """The policy's fixed input and output contract."""
        ...

    def infer(self, observation: Observation) -> ActionChunk:
        """Compute the next action chunk, as ``Policy.infer``."""
        ...

    def infer_guided(self, observation: Observation, *, prefix_actions: NDArray[np.float64],
                     prefix_steps: int, weights: NDArray[np.float64],
                     max_guidance_weight: float) -> ActionChunk:
        """Compute the next chunk so that it continues ``prefix_actions``.

        Args:
            observation: as for ``infer``.
            prefix_actions: (chunk_length, J) absolute joint positions, rad: what the robot
                runs at each step of the new chunk according to the current plan.
            prefix_steps: the first steps, which the chunk must equal ``prefix_actions`` at.
            weights: (chunk_length,) in [0, 1], how strongly each step is pulled towards
                ``prefix_actions`` (1 for the first ``prefix_steps``, 0 where free).
            max_guidance_weight: the largest guidance weight (beta), where the family's
                guidance has one (``execution.rtc_guidance_weight``).

        Raises:
            InputError: as ``infer``, or prefix shapes that do not fit the spec.
            PolicyOutputError: the model produced no valid chunk.
        """
        ...


def as_guided(policy: Policy) -> GuidedPolicy | None:
    """``policy`` as a GuidedPolicy when it implements ``infer_guided``, else None."""
    return policy if isinstance(policy, GuidedPolicy) else None


def outputs_offsets(policy: object) -> bool:
    """Whether ``policy``'s chunk rows are offsets from the observed joints (``--joint-deltas``).

    A family says so with ``action_rows_from_observation`` (the flow family, from its
    checkpoint); anything else outputs absolute targets.
    """
    return getattr(policy, 'action_rows_from_observation', False) is True
