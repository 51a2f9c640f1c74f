# SPDX-License-Identifier: Apache-2.0
# Copyright 2026 The vla_ros authors
"""One call of the policy for the runner: plain or guided, and its chunk checked.

With ``execution.strategy: rtc`` a policy that implements ``GuidedPolicy.infer_guided`` gets the
running plan as a prefix to continue; every other call is ``Policy.infer``. Either way the chunk
must be for the policy's own joints and time step, else it is a ``PolicyOutputError`` (the
runner holds), never a trajectory.
"""

from __future__ import annotations

from vla_ros.core.config import ExecutionConfig, ExecutionStrategy
from vla_ros.core.errors import PolicyOutputError
from vla_ros.core.policy import as_guided, Policy
from vla_ros.core.types import ActionChunk, Observation
from vla_ros.execution.rtc import RtcPrefix

__all__ = ['PolicyCall']


class PolicyCall:
    """Calls ``policy`` the way ``execution`` asks and checks what comes back."""

    def __init__(self, policy: Policy, execution: ExecutionConfig) -> None:
        self._policy = policy
        self._guided = as_guided(policy) if (
            execution.strategy is ExecutionStrategy.RTC) else None
        self._guidance_weight = execution.rtc_guidance_weight

    def infer(self, observation: Observation, prefix: RtcPrefix | None
              ) -> tuple[ActionChunk, bool]:
        """The policy's chunk (guided when it can follow ``prefix``) and whether it was guided.

        Raises:
            InputError: the observation does not fit the policy.
            PolicyOutputError: the chunk is invalid or for other joints or another time step.
        """
        guided = False
        if prefix is not None and self._guided is not None:
            chunk = self._guided.infer_guided(
                observation, prefix_actions=prefix.actions, prefix_steps=prefix.prefix_steps,
                weights=prefix.weights, max_guidance_weight=self._guidance_weight)
            guided = True
        else:
            chunk = self._policy.infer(observation)
        spec = self._policy.spec
        if chunk.joint_names != spec.joint_names:
            raise PolicyOutputError(
                f'policy returned joints {chunk.joint_names!r}, expected {spec.joint_names!r}')
        if abs(chunk.dt_s - spec.dt_s) > 1e-9:
            raise PolicyOutputError(f'policy returned a chunk with dt_s={chunk.dt_s!r}, '
                                    f'expected {spec.dt_s!r} (its spec)')
        return chunk, guided

    def server_time_ms(self) -> float:
        """A remote policy's own report of its latest inference time (``last_timing``); else 0."""
        timing = getattr(self._policy, 'last_timing', None)
        server_ms = getattr(timing, 'server_ms', None)
        return float(server_ms) if isinstance(server_ms, (int, float)) else 0.0
