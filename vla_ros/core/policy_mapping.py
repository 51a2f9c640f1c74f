# SPDX-License-Identifier: Apache-2.0
# Copyright 2026 The vla_ros authors
"""The parts of the ``policy`` config section that say what a checkpoint does not say itself.

A checkpoint in a published layout (LeRobot's pi0 folder) knows its image keys, state and
action widths and statistics, but not which robot joint each state or action dimension is,
which camera each image key is, or the control period. The embodiment YAML says so here:

```yaml
policy:
  tokenizer: ~/models/paligemma-tokenizer      # folders without a tokenizer (LeRobot pi0)
  dtype: bfloat16                              # float32 | bfloat16 | float16
  inputs:
    cameras:                                   # checkpoint image key -> embodiment camera
      observation.images.base_0_rgb: front
      observation.images.right_wrist_0_rgb: null    # no such camera: left out, masked
    state: [joint1, joint2, gripper_joint]     # observation.state, dimension by dimension
  outputs:
    joints: [joint1, joint2, gripper_joint]    # action, dimension by dimension
    dt_s: 0.1                                  # time between chunk rows, seconds
```

numpy-free and torch-free: plain values, checked against the embodiment's joints and cameras.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
import enum
import math
from typing import Any

from vla_ros.core.checked_mapping import parse_fields
from vla_ros.core.errors import ConfigError

__all__ = ['ModelDtype', 'PolicyInputs', 'PolicyOutputs', 'parse_dtype', 'parse_inputs',
           'parse_outputs']


class ModelDtype(enum.Enum):
    """The floating-point type the model's weights are loaded in."""

    FLOAT32 = 'float32'
    BFLOAT16 = 'bfloat16'
    FLOAT16 = 'float16'


@dataclass(frozen=True, slots=True)
class PolicyInputs:
    """Which robot signal feeds each checkpoint input.

    Attributes:
        cameras: checkpoint image key -> embodiment camera name, or None for a camera the
            robot lacks (that slot is left out of the prompt and masked, as LeRobot does).
        state: the joints of the state vector, in the checkpoint's order.
    """

    cameras: Mapping[str, str | None]
    state: tuple[str, ...]


@dataclass(frozen=True, slots=True)
class PolicyOutputs:
    """What each checkpoint output means.

    Attributes:
        joints: the joints of the action vector, in the checkpoint's order (absolute targets,
            rad or m, unless ``embodiment.commands`` or ``action_space`` say otherwise).
        dt_s: time between chunk rows, seconds (the control period of the training data).
    """

    joints: tuple[str, ...]
    dt_s: float


def parse_dtype(raw: Any) -> ModelDtype | None:
    """``policy.dtype`` -> ModelDtype, None when unset."""
    if raw is None:
        return None
    try:
        return ModelDtype(raw)
    except ValueError as err:
        raise ConfigError(f'policy.dtype: {raw!r}, expected one of '
                          f'{[dtype.value for dtype in ModelDtype]!r}') from err


def _joint_list(raw: Any, where: str, joints: Sequence[str]) -> tuple[str, ...]:
    if not isinstance(raw, Sequence) or isinstance(raw, str) or not raw or not all(
            isinstance(name, str) for name in raw):
        raise ConfigError(f'{where}: {raw!r}, expected a non-empty list of joint names')
    unknown = [name for name in raw if name not in joints]
    if unknown:
        raise ConfigError(f'{where}: unknown joints {unknown!r}; embodiment.joints is '
                          f'{list(joints)!r}')
    if len(set(raw)) != len(raw):
        raise ConfigError(f'{where}: {list(raw)!r} names a joint twice')
    return tuple(raw)


def parse_inputs(raw: Any, *, joints: Sequence[str], cameras: Sequence[str]) -> PolicyInputs:
    """``policy.inputs`` -> PolicyInputs, each name checked against the embodiment.

    Raises:
        ConfigError: a missing or unknown key, an unknown joint or camera, or a camera fed to
            two image keys; the message gives the field path.
    """
    section = parse_fields(raw, 'policy.inputs', required={'cameras', 'state'})
    mapping = section['cameras']
    if not isinstance(mapping, Mapping) or not mapping:
        raise ConfigError(f'policy.inputs.cameras: {mapping!r}, expected a mapping image key -> '
                          'embodiment camera (or null)')
    for key, camera in mapping.items():
        if camera is not None and camera not in cameras:
            raise ConfigError(f'policy.inputs.cameras.{key}: {camera!r} is not a camera of '
                              f'embodiment.cameras {list(cameras)!r}')
    used = [camera for camera in mapping.values() if camera is not None]
    if not used or len(set(used)) != len(used):
        raise ConfigError(f'policy.inputs.cameras: {dict(mapping)!r}, expected at least one '
                          'camera and each camera at most once')
    return PolicyInputs(cameras={str(key): value for key, value in mapping.items()},
                        state=_joint_list(section['state'], 'policy.inputs.state', joints))


def parse_outputs(raw: Any, *, joints: Sequence[str]) -> PolicyOutputs:
    """``policy.outputs`` -> PolicyOutputs, each joint checked against the embodiment.

    Raises:
        ConfigError: a missing or unknown key, an unknown joint, or a period that is not a
            finite number of seconds > 0.
    """
    section = parse_fields(raw, 'policy.outputs', required={'joints', 'dt_s'})
    dt_s = section['dt_s']
    if isinstance(dt_s, bool) or not isinstance(dt_s, (int, float)) or not (
            math.isfinite(dt_s) and dt_s > 0):
        raise ConfigError(f'policy.outputs.dt_s: {dt_s!r}, expected a finite number of '
                          'seconds > 0')
    return PolicyOutputs(joints=_joint_list(section['joints'], 'policy.outputs.joints', joints),
                         dt_s=float(dt_s))
