# SPDX-License-Identifier: Apache-2.0
# Copyright 2026 The vla_ros authors
"""The ``openvla`` family: OpenVLA's REST deploy server (``deploy.py``, protocols.md 1d).

``POST <url>/act`` with a JSON body ``{"image": (H, W, 3) uint8, "instruction": str,
"unnorm_key": str}`` whose arrays are json-numpy objects (``{"__numpy__": base64 bytes,
"dtype": descr, "shape": [...]}``); the reply is the un-normalised 7-D end-effector action
(dx, dy, dz, droll, dpitch, dyaw, gripper) as such an object, possibly JSON-encoded once more
inside a string (the server's "encoded" variant), or the string ``"error"``. One action per
call: a chunk of one row, which pairs with the ``ee_delta`` action space (README, Action
spaces). ``schema: openvla`` names the camera and the seven action columns.

No connection at start (a TCP connect within ``connect_timeout_s``) is a ``ConfigError``; later
failures are ``PolicyOutputError``s with back-off, as for every remote family (``link``).
"""

from __future__ import annotations

import base64
import json
import socket
import time
from typing import Any, TYPE_CHECKING
import urllib.error
import urllib.parse
import urllib.request

import numpy as np

from vla_ros.core.errors import ConfigError, InputError, PolicyOutputError
from vla_ros.core.remote_config import WireSchema
from vla_ros.policies.remote.link import api_key_from_env, CallTiming, RemoteClient
from vla_ros.policies.remote.processor import decode_actions, slot_image, spec_of
from vla_ros.policies.remote.wire_codec import checked_dtype

if TYPE_CHECKING:
    from vla_ros.core.config import PolicyConfig
    from vla_ros.core.remote_config import RemoteServerConfig
    from vla_ros.core.types import ActionChunk, Observation

__all__ = ['OpenvlaPolicy', 'decode_json_numpy', 'encode_json_numpy', 'load']

#: Largest reply read, bytes (one 7-D action is well under 1 kB).
MAX_REPLY_BYTES = 1024 * 1024


def encode_json_numpy(value: Any) -> Any:
    """``value`` with every numpy array replaced by its json-numpy object."""
    if isinstance(value, np.ndarray):
        checked_dtype(value.dtype.str)
        return {'__numpy__': base64.b64encode(np.ascontiguousarray(value).tobytes()).decode(),
                'dtype': value.dtype.str, 'shape': list(value.shape)}
    if isinstance(value, dict):
        return {key: encode_json_numpy(item) for key, item in value.items()}
    return value


def decode_json_numpy(value: dict[str, Any]) -> Any:
    """``json.loads`` object hook: a json-numpy object becomes an array; InputError if bad."""
    if '__numpy__' not in value:
        return value
    dtype, shape = checked_dtype(value.get('dtype')), value.get('shape')
    try:
        data = base64.b64decode(str(value['__numpy__']), validate=True)
        return np.frombuffer(data, dtype=dtype).reshape(shape).copy()
    except (ValueError, TypeError) as err:
        raise InputError(f'json-numpy: array of shape {shape!r} and dtype {dtype.str}: '
                         f'{err}') from err


class OpenvlaPolicy(RemoteClient):
    """OpenVLA behind its REST server; implements ``vla_ros.policies.base.Policy``.

    Raises:
        ConfigError: a mapping that is not OpenVLA's (one camera, no state, 7 columns, one
            row), or no TCP connection to the server within ``connect_timeout_s``.
    """

    def __init__(self, server: RemoteServerConfig, *, api_key: str | None = None) -> None:
        mapping = server.mapping
        if server.schema is not WireSchema.OPENVLA or mapping is None:
            raise ConfigError('policy.server.schema: the openvla family speaks schema openvla')
        parts = urllib.parse.urlsplit(server.url)
        if parts.scheme not in ('http', 'https') or not parts.hostname:
            raise ConfigError(f'policy.server.url: {server.url!r}, expected http(s)://host:port')
        super().__init__(server)
        self._mapping = mapping
        self._spec = spec_of(mapping)
        self._endpoint = server.url.rstrip('/') + '/act'
        self._headers = {'Content-Type': 'application/json'}
        if api_key:
            self._headers['Authorization'] = f'Api-Key {api_key}'
        port = parts.port or (443 if parts.scheme == 'https' else 80)
        try:
            socket.create_connection((parts.hostname, port),
                                     timeout=server.connect_timeout_s).close()
        except OSError as err:
            raise ConfigError(f'policy.server.url: cannot connect to {server.url} within '
                              f'{server.connect_timeout_s} s: {err}') from err

    def infer(self, observation: Observation) -> ActionChunk:
        """POST the image and instruction to ``/act``; the reply is a one-row chunk.

        Raises:
            InputError: no image from the camera, or an empty instruction.
            PolicyOutputError: no reply in time, an error reply, or not a 7-D finite action.
        """
        slot = self._mapping.cameras[0]
        body = {'image': slot_image(observation, slot, height=self._mapping.image_height,
                                    width=self._mapping.image_width),
                'instruction': observation.instruction.strip()}
        if not body['instruction']:
            raise InputError('instruction is empty')
        if self._server.unnorm_key is not None:
            body['unnorm_key'] = self._server.unnorm_key
        data = json.dumps(encode_json_numpy(body)).encode()
        with self._lock:
            self._backoff.check(self._server.url)
            started = time.perf_counter()
            reply = self._post(data)
            round_trip_ms = 1e3 * (time.perf_counter() - started)
            self._backoff.succeeded()
        chunk = decode_actions(reply, self._mapping, where=f'policy server {self._server.url}')
        self._last_timing = CallTiming(round_trip_ms=round_trip_ms, server_ms=None)
        return chunk

    def _post(self, data: bytes) -> Any:
        """The decoded reply of one POST; PolicyOutputError (and back-off) on any failure."""
        url, timeout_s = self._server.url, self._server.timeout_s
        request = urllib.request.Request(self._endpoint, data=data, headers=self._headers,
                                         method='POST')
        try:
            with urllib.request.urlopen(request, timeout=timeout_s) as response:
                text = response.read(MAX_REPLY_BYTES + 1)
        except TimeoutError as err:
            self._backoff.failed()
            raise PolicyOutputError(f'policy server {url}: no reply within {timeout_s} s '
                                    '(policy.server.timeout_s)') from err
        except (urllib.error.URLError, OSError) as err:
            self._backoff.failed()
            raise PolicyOutputError(f'policy server {url}: request failed: {err}') from err
        if len(text) > MAX_REPLY_BYTES:
            raise PolicyOutputError(f'policy server {url}: reply over {MAX_REPLY_BYTES} bytes')
        try:
            reply = json.loads(text, object_hook=decode_json_numpy)
            if isinstance(reply, str) and reply != 'error':  # the "encoded" variant
                reply = json.loads(reply, object_hook=decode_json_numpy)
                reply = 'error' if isinstance(reply, str) else reply
        except (ValueError, InputError) as err:
            raise PolicyOutputError(f'policy server {url}: unreadable reply: {err}') from err
        if isinstance(reply, str):
            raise PolicyOutputError(f'policy server {url} answered "error" (see its log)')
        return reply


def load(settings: PolicyConfig) -> OpenvlaPolicy:
    """The registry's loader: check the server section and reach the server.

    Raises:
        ConfigError: no server section, an unset API key variable, or no connection.
    """
    if settings.server is None:
        raise ConfigError('policy.server: the openvla family needs a server section')
    return OpenvlaPolicy(settings.server, api_key=api_key_from_env(settings.server.api_key_env))
