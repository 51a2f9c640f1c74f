# SPDX-License-Identifier: Apache-2.0
# Copyright 2026 The vla_ros authors
"""Absolute targets from a served policy whose chunk rows are offsets (``--joint-deltas``).

``vla-ros serve`` answers with absolute joint targets: that is the native schema's reply and
what the stock openpi client expects (openpi's servers add the state back to delta actions
before they reply). A checkpoint trained with ``--joint-deltas`` outputs each row as an offset
from the joints observed with the request; served as it is, a robot would take the offsets for
targets and drive every joint towards zero. The request carries the whole joint state, so the
server adds the observed joints back here, and the robot needs no ``action_space`` for it.
"""

from __future__ import annotations

from collections.abc import Sequence

from vla_ros.core.errors import PolicyOutputError
from vla_ros.core.policy import outputs_offsets
from vla_ros.core.types import ActionChunk, Observation
from vla_ros.policies.base import Policy, PolicySpec
from vla_ros.policies.remote.batching import BatchPolicy

__all__ = ['ObservedOffsetsPolicy', 'served_policy']


class ObservedOffsetsPolicy:
    """Absolute targets: each row of the wrapped policy's chunk plus the observed joints.

    Args:
        policy: a loaded policy whose rows are offsets from ``observation`` (its spec's joints).
    """

    def __init__(self, policy: Policy) -> None:
        self._policy = policy

    @property
    def spec(self) -> PolicySpec:
        """The wrapped policy's contract (same joints; the values become absolute)."""
        return self._policy.spec

    @property
    def inference_path(self) -> str:
        """The wrapped policy's inference path, and that the offsets are added back here."""
        path = getattr(self._policy, 'inference_path', '')
        path = path if isinstance(path, str) and path else 'as the family implements it'
        return f'{path}; chunk rows are offsets, the observed joints are added back'

    def close(self) -> None:
        """Release the wrapped policy's resources, where it holds any."""
        release = getattr(self._policy, 'close', None)
        if callable(release):
            release()

    def infer(self, observation: Observation) -> ActionChunk:
        """The chunk for ``observation`` as absolute targets.

        Raises:
            InputError: the observation lacks a policy joint (or the policy refuses it).
            PolicyOutputError: the policy's chunk has other joints than its spec.
        """
        return self._absolute(self._policy.infer(observation), observation)

    def _absolute(self, chunk: ActionChunk, observation: Observation) -> ActionChunk:
        joints = self._policy.spec.joint_names
        if chunk.joint_names != joints:
            raise PolicyOutputError(f'policy returned joints {chunk.joint_names!r}, '
                                    f'expected {joints!r}')
        return ActionChunk(joints, chunk.positions + observation.positions_for(joints),
                           chunk.dt_s)


class _BatchObservedOffsetsPolicy(ObservedOffsetsPolicy):
    """``ObservedOffsetsPolicy`` around a ``BatchPolicy``, itself a ``BatchPolicy``."""

    def __init__(self, policy: Policy, batched: BatchPolicy[object]) -> None:
        super().__init__(policy)
        self._batched = batched  # the same object as ``policy``, typed for its batch methods

    def new_noise_stream(self) -> object:
        """The wrapped policy's fresh noise stream."""
        return self._batched.new_noise_stream()

    def infer_batch(self, observations: Sequence[Observation],
                    streams: Sequence[object]) -> list[ActionChunk]:
        """One chunk of absolute targets per observation (see ``BatchPolicy.infer_batch``).

        Raises:
            InputError: an observation lacks a policy joint; PolicyOutputError: wrong joints.
        """
        for observation in observations:  # before any stream advances
            observation.positions_for(self._policy.spec.joint_names)
        chunks = self._batched.infer_batch(observations, streams)
        return [self._absolute(chunk, observation)
                for chunk, observation in zip(chunks, observations, strict=True)]


def served_policy(policy: Policy) -> Policy:
    """``policy`` itself when its rows are absolute targets, else one that adds the joints back."""
    if not outputs_offsets(policy):
        return policy
    if isinstance(policy, BatchPolicy):
        return _BatchObservedOffsetsPolicy(policy, policy)
    return ObservedOffsetsPolicy(policy)
