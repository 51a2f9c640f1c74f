# SPDX-License-Identifier: Apache-2.0
# Copyright 2026 The vla_ros authors
"""Observation -> request dict, and reply -> ``ActionChunk``, as a ``WireMapping`` says.

Images are letterboxed to the server's input size here, on the robot, so messages stay small
(a 224 x 224 RGB image is 150 kB), then rotated or transposed to the layout the server wants.
A reply is checked before anything is used: each action array must be there, two-dimensional,
of the declared width, at least ``chunk_length`` rows long and finite; anything else is a
``PolicyOutputError`` (the node holds), never a guess at what the server meant.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import numpy as np
from numpy.typing import NDArray

from vla_ros.core.errors import InputError, PolicyOutputError
from vla_ros.core.instructions import normalize_instruction
from vla_ros.core.remote_config import CameraSlot, ImageLayout, WireMapping
from vla_ros.core.types import ActionChunk, Observation
from vla_ros.policies.base import PolicySpec
from vla_ros.policies.frames import letterbox

__all__ = ['decode_actions', 'encode_observation', 'lookup', 'slot_image', 'spec_of']


def spec_of(mapping: WireMapping) -> PolicySpec:
    """The PolicySpec a mapping implies: its action columns, cameras, image size, chunk."""
    return PolicySpec(joint_names=mapping.action_columns,
                      camera_names=tuple(slot.camera for slot in mapping.cameras),
                      image_height=mapping.image_height, image_width=mapping.image_width,
                      chunk_length=mapping.chunk_length, dt_s=mapping.dt_s)


def slot_image(observation: Observation, slot: CameraSlot, *, height: int,
               width: int) -> NDArray[np.uint8]:
    """The camera's image letterboxed to height x width, in the slot's rotation and layout.

    Raises:
        InputError: the camera is missing or not an RGB image.
    """
    if slot.camera not in observation.images:
        raise InputError(f'camera {slot.camera!r}: no image in the observation; the server '
                         f'needs {slot.camera!r} for {"/".join(slot.key)!r}')
    image = letterbox(observation.images[slot.camera], height=height, width=width)
    if slot.rotate_180:
        image = image[::-1, ::-1]
    if slot.layout is ImageLayout.CHW:
        image = image.transpose(2, 0, 1)
    return np.ascontiguousarray(image)


def _put(request: dict[str, Any], key: tuple[str, ...], value: Any) -> None:
    for part in key[:-1]:
        request = request.setdefault(part, {})
    request[key[-1]] = value


def encode_observation(observation: Observation, mapping: WireMapping) -> dict[str, Any]:
    """The request dict for ``observation``: images, state vectors (float32) and prompt.

    Raises:
        InputError: a camera or joint is missing, or the instruction is empty.
    """
    request: dict[str, Any] = {}
    for slot in mapping.cameras:
        _put(request, slot.key, slot_image(observation, slot, height=mapping.image_height,
                                           width=mapping.image_width))
    for state in mapping.state:
        _put(request, state.key, observation.positions_for(state.joints).astype(np.float32))
    if mapping.prompt_key:
        _put(request, mapping.prompt_key, normalize_instruction(observation.instruction))
    return request


def lookup(reply: Any, key: tuple[str, ...], *, where: str) -> Any:
    """``reply[key[0]][key[1]]...``; PolicyOutputError naming the key when one is missing."""
    value = reply
    for depth, part in enumerate(key):
        if not isinstance(value, Mapping) or part not in value:
            found = sorted(map(str, value)) if isinstance(value, Mapping) else type(value)
            raise PolicyOutputError(f'{where}: reply lacks {"/".join(key[:depth + 1])!r} '
                                    f'(found {found!r})')
        value = value[part]
    return value


def _action_array(value: Any, *, width: int, rows: int, where: str) -> NDArray[np.float64]:
    if isinstance(value, list):  # JSON replies carry nested lists
        try:
            value = np.asarray(value, dtype=np.float64)
        except (TypeError, ValueError) as err:
            raise PolicyOutputError(f'{where}: actions are not numbers: {err}') from err
    if not isinstance(value, np.ndarray) or value.dtype.kind not in 'iuf':
        raise PolicyOutputError(f'{where}: actions of type {type(value).__name__}, expected '
                                'a numeric array')
    if value.ndim == 1 and rows == 1:
        value = value[None, :]
    if value.ndim != 2 or value.shape[1] != width or value.shape[0] < rows:
        raise PolicyOutputError(f'{where}: actions of shape {value.shape!r}, expected '
                                f'(>= {rows}, {width}) as the mapping declares')
    chunk: NDArray[np.float64] = value[:rows].astype(np.float64)
    if not np.all(np.isfinite(chunk)):
        raise PolicyOutputError(f'{where}: actions contain NaN or Inf')
    return chunk


def decode_actions(reply: Any, mapping: WireMapping, *, where: str) -> ActionChunk:
    """The chunk in a reply: each action slot's array, checked, the used columns joined.

    Args:
        reply: the decoded reply.
        mapping: what the reply must hold.
        where: names the server in error messages.

    Raises:
        PolicyOutputError: a missing key, a shape other than declared, NaN or Inf.
    """
    columns: list[NDArray[np.float64]] = []
    for slot in mapping.actions:
        array = _action_array(lookup(reply, slot.key, where=where), width=len(slot.columns),
                              rows=mapping.chunk_length,
                              where=f'{where} {"/".join(slot.key) or "reply"}')
        columns.extend(array[:, index] for index, name in enumerate(slot.columns)
                       if name is not None)
    return ActionChunk(joint_names=mapping.action_columns, positions=np.stack(columns, axis=1),
                       dt_s=mapping.dt_s)
