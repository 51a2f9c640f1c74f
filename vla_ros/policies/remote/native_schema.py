# SPDX-License-Identifier: Apache-2.0
# Copyright 2026 The vla_ros authors
"""The observation schema ``vla-ros serve`` speaks over the openpi protocol.

The stock openpi metadata frame advertises nothing; ours carries the served policy's spec
under ``vla_ros``, so a robot needs no key mapping at all::

    metadata: {'vla_ros': {'schema_version': 1, 'spec': {joint_names, camera_names,
               image_height, image_width, chunk_length, dt_s}}}
    request:  {'images': {camera: (H, W, 3) uint8}, 'joint_names': [str],
               'joint_positions': (J,) float64, 'prompt': str}
    reply:    {'actions': (chunk_length, len(joint_names)) float64 absolute joint targets,
               'server_timing': {'infer_ms': float}}

The whole joint state travels with its names, so the served policy picks its state joints as
it would locally; float64 and letterboxed images make the served chunks equal local ones.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import numpy as np

from vla_ros.core.errors import ConfigError, InputError
from vla_ros.core.remote_config import ActionSlot, CameraSlot, WireMapping
from vla_ros.core.types import Observation
from vla_ros.policies.base import PolicySpec
from vla_ros.policies.remote.processor import encode_observation

__all__ = ['METADATA_KEY', 'native_mapping', 'native_request', 'observation_from_request',
           'spec_from_metadata', 'spec_metadata']

METADATA_KEY = 'vla_ros'
SCHEMA_VERSION = 1
_SPEC_FIELDS = ('joint_names', 'camera_names', 'image_height', 'image_width', 'chunk_length',
                'dt_s')


def spec_metadata(spec: PolicySpec) -> dict[str, Any]:
    """The metadata frame that advertises ``spec``."""
    return {METADATA_KEY: {'schema_version': SCHEMA_VERSION, 'spec': {
        'joint_names': list(spec.joint_names), 'camera_names': list(spec.camera_names),
        'image_height': spec.image_height, 'image_width': spec.image_width,
        'chunk_length': spec.chunk_length, 'dt_s': spec.dt_s}}}


def spec_from_metadata(metadata: Any, *, url: str) -> PolicySpec:
    """The spec in a ``vla-ros serve`` metadata frame.

    Raises:
        ConfigError: the frame has no vla_ros spec (a stock openpi server: set
            ``policy.server.schema`` to its schema) or a malformed one.
    """
    entry = metadata.get(METADATA_KEY) if isinstance(metadata, Mapping) else None
    if not isinstance(entry, Mapping) or entry.get('schema_version') != SCHEMA_VERSION:
        raise ConfigError(f'policy.server: {url} sent metadata {metadata!r} without a vla_ros '
                          f'spec (schema_version {SCHEMA_VERSION}); for a stock openpi server '
                          'set policy.server.schema (droid, aloha, libero or custom)')
    raw = entry.get('spec')
    if not isinstance(raw, Mapping) or set(raw) != set(_SPEC_FIELDS):
        raise ConfigError(f'policy.server: {url} sent spec {raw!r}, expected {_SPEC_FIELDS}')
    try:
        return PolicySpec(joint_names=tuple(map(str, raw['joint_names'])),
                          camera_names=tuple(map(str, raw['camera_names'])),
                          image_height=int(raw['image_height']),
                          image_width=int(raw['image_width']),
                          chunk_length=int(raw['chunk_length']), dt_s=float(raw['dt_s']))
    except (TypeError, ValueError, ConfigError) as err:
        raise ConfigError(f'policy.server: {url} sent a malformed spec {raw!r}') from err


def native_mapping(spec: PolicySpec) -> WireMapping:
    """The WireMapping of the native schema for ``spec`` (images, prompt, actions)."""
    return WireMapping(
        cameras=tuple(CameraSlot(key=('images', camera), camera=camera)
                      for camera in spec.camera_names),
        state=(), prompt_key=('prompt',),
        actions=(ActionSlot(key=('actions',), columns=spec.joint_names),),
        image_height=spec.image_height, image_width=spec.image_width,
        chunk_length=spec.chunk_length, dt_s=spec.dt_s)


def native_request(observation: Observation, spec: PolicySpec) -> dict[str, Any]:
    """The request for ``observation``: letterboxed images, the joint state, the prompt.

    Raises:
        InputError: a camera is missing or the instruction is empty.
    """
    request = encode_observation(observation, native_mapping(spec))
    request['joint_names'] = list(observation.joint_names)
    request['joint_positions'] = observation.joint_positions
    return request


def observation_from_request(request: Any) -> Observation:
    """The Observation a native request describes (server side).

    Raises:
        InputError: a missing key, wrong types or shapes, NaN; the message names the key.
    """
    if not isinstance(request, Mapping):
        raise InputError(f'request: a {type(request).__name__}, expected a map')
    missing = [key for key in ('images', 'joint_names', 'joint_positions', 'prompt')
               if key not in request]
    images, names = request.get('images'), request.get('joint_names')
    if missing:
        raise InputError(f'request: missing keys {missing!r} (vla_ros schema: images, '
                         'joint_names, joint_positions, prompt)')
    if not isinstance(images, Mapping) or not all(
            isinstance(name, str) and isinstance(image, np.ndarray)
            for name, image in images.items()):
        raise InputError('request images: expected a map camera -> uint8 (H, W, 3) array')
    if not isinstance(names, list) or not all(isinstance(name, str) for name in names):
        raise InputError(f'request joint_names: {names!r}, expected a list of strings')
    positions = request['joint_positions']
    if not isinstance(positions, np.ndarray) or positions.dtype.kind != 'f':
        raise InputError('request joint_positions: expected a float array')
    if not isinstance(request['prompt'], str):
        raise InputError(f'request prompt: {request["prompt"]!r}, expected a string')
    return Observation(images=dict(images), joint_names=tuple(names),
                       joint_positions=positions, instruction=request['prompt'])
