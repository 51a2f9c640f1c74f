# SPDX-License-Identifier: Apache-2.0
# Copyright 2026 The vla_ros authors
"""What the inference worker reports: its status snapshot, its fault, and its one refusal.

ROS-free. The policy node turns a ``RunnerStatus`` into /vla/status and /diagnostics and into
action feedback; the ``vla/execute`` goals read ``fault`` to decide whether a goal ends.
"""

from __future__ import annotations

from dataclasses import dataclass
import enum

from vla_ros.core.types import NodeState

__all__ = ['RunnerFault', 'RunnerStatus', 'STOPPED_REFUSAL']

#: Why ``start`` is refused between ``stop`` and ``resume`` (the e-stop latch of vla/stop).
STOPPED_REFUSAL = 'motion is stopped (vla/stop); call vla/resume first'


class RunnerFault(enum.Enum):
    """Why the runner is in ERROR; ``NONE`` in every other state.

    Only ``INTERNAL`` ends an instruction goal: the runner rides the others out (it tries a
    bad input or a late chunk again, and the node clears a joint or clock fault itself).
    """

    #: Nothing is wrong (the state is IDLE, RUNNING or HOLDING).
    NONE = enum.auto()
    #: An observation or a policy output failed a check; the worker tries again.
    INPUT = enum.auto()
    #: A chunk came after the plan ran out (a slow or hung policy); the worker infers again.
    LATE = enum.auto()
    #: An unexpected error in the inference cycle, a bug; held until the next ``start``.
    INTERNAL = enum.auto()
    #: Configured joints are missing from the joint states (the node holds the runner).
    JOINTS = enum.auto()
    #: The controllers' clock stopped or went back (the node holds the runner).
    CLOCK = enum.auto()


@dataclass(frozen=True, slots=True)
class RunnerStatus:
    """A snapshot of what the runner is doing, for /vla/status and action feedback.

    ``fault`` says why the state is ERROR (and is ``NONE`` exactly when it is not); ``stopped``
    is the e-stop latch, set by ``stop`` and cleared by ``resume``. ``corrections`` counts
    trajectory values the safety layer changed (URDF limits, max step);
    ``conversion_corrections`` counts what a policy's action-space conversion changed
    (values clamped, end-effector steps the IK could not reach), and ``last_conversion`` is
    the summary of the latest chunk it corrected. For a remote policy ``last_latency_ms`` is
    the round trip and ``last_server_ms`` the server's own time (0 when not reported).

    Raises:
        ValueError: ``state`` is ERROR without a fault, or another state with one.
    """

    state: NodeState = NodeState.IDLE
    fault: RunnerFault = RunnerFault.NONE
    stopped: bool = False
    instruction: str = ''
    last_error: str = ''
    last_latency_ms: float = 0.0
    last_server_ms: float = 0.0
    mean_latency_ms: float = 0.0
    chunks: int = 0
    errors: int = 0
    corrections: int = 0
    conversion_corrections: int = 0
    last_conversion: str = ''

    def __post_init__(self) -> None:
        if (self.state is NodeState.ERROR) != (self.fault is not RunnerFault.NONE):
            raise ValueError(f'RunnerStatus: state {self.state.name} with fault '
                             f'{self.fault.name}; ERROR, and only ERROR, has a fault')
