# SPDX-License-Identifier: Apache-2.0
# Copyright 2026 The vla_ros authors
"""One inference on a synthetic observation, so the first real one is not the slow one.

The first call of a torch model allocates, picks kernels and fills caches; on a CPU that can
take many times a steady call. Doing it while the node starts keeps it out of the first chunk.
It needs only the ``Policy`` contract, so it lives in ``core``: the policy node's set-up
(``vla_ros.execution.policy_setup``) and ``vla-ros serve`` both call it.
"""

from __future__ import annotations

import logging
import time

import numpy as np

from vla_ros.core.errors import PolicyOutputError
from vla_ros.core.policy import Policy
from vla_ros.core.types import Observation

__all__ = ['warm_up']

_LOG = logging.getLogger(__name__)


def warm_up(policy: Policy) -> float:
    """Run one inference on black images and zero joint positions; return its time in ms.

    A policy that finds no valid chunk for that synthetic scene has still been warmed up: the
    PolicyOutputError is logged, not raised. Real observations are checked as always.
    """
    spec = policy.spec
    black = np.zeros((spec.image_height, spec.image_width, 3), dtype=np.uint8)
    observation = Observation(images={camera: black for camera in spec.camera_names},
                              joint_names=spec.joint_names,
                              joint_positions=np.zeros(len(spec.joint_names)),
                              instruction='warm up')
    started = time.perf_counter()
    try:
        policy.infer(observation)
    except PolicyOutputError as err:  # e.g. a token policy refusing a black, all-zero scene
        _LOG.warning('warm-up inference produced no valid chunk (fine for warm-up): %s', err)
    return 1e3 * (time.perf_counter() - started)
