# SPDX-License-Identifier: Apache-2.0
# Copyright 2026 The vla_ros authors
"""The ``groot`` family: Isaac-GR00T's ZMQ policy server, N1.6+ dialect (protocols.md 1c).

A REQ socket to ``tcp://host:5555``; each request is msgpack of ``{"endpoint": "get_action",
"data": {"observation": obs, "options": None}, "api_token": key}``, with every array as
``{"__ndarray_class__": True, "as_npy": <np.save bytes>}`` (read back with
``allow_pickle=False``). The observation is ``{"video": {camera: uint8 (1, 1, H, W, 3)},
"state": {name: float32 (1, 1, D)}, "language": {key: [[instruction]]}}``; the reply is
``[{action name: float32 (1, T, D)}, info]``, or ``{"error": text}``.

The mapping is ``schema: custom``: camera keys are names under ``video``, state keys names
under ``state``, action keys names in the reply's action map, and ``prompt`` the language key
(dots belong to the name here: ``annotation.human.action.task_description``).

A REQ socket that misses a reply is stuck, so every socket has receive and send timeouts and
``LINGER`` 0, and after a timeout or error it is closed and a new one made on the next call
(after the back-off). At start, ``ping`` must answer within ``connect_timeout_s``.
"""

from __future__ import annotations

import io
import time
from typing import Any, TYPE_CHECKING

import msgpack  # type: ignore[import-untyped]
import numpy as np
import zmq

from vla_ros.core.errors import ConfigError, InputError, PolicyOutputError
from vla_ros.core.instructions import normalize_instruction
from vla_ros.core.remote_config import WireSchema
from vla_ros.policies.remote.link import api_key_from_env, CallTiming, RemoteClient
from vla_ros.policies.remote.processor import decode_actions, slot_image, spec_of
from vla_ros.policies.remote.wire_codec import checked_dtype, unpack_with

if TYPE_CHECKING:
    from vla_ros.core.config import PolicyConfig
    from vla_ros.core.remote_config import RemoteServerConfig, WireMapping
    from vla_ros.core.types import ActionChunk, Observation

__all__ = ['GrootPolicy', 'groot_pack', 'groot_unpack', 'load']


def _encode(value: Any) -> Any:
    if isinstance(value, np.ndarray):
        checked_dtype(value.dtype.str)
        buffer = io.BytesIO()
        np.save(buffer, value, allow_pickle=False)
        return {'__ndarray_class__': True, 'as_npy': buffer.getvalue()}
    raise TypeError(f'groot: cannot encode {type(value).__name__}')


def _decode(value: dict[Any, Any]) -> Any:
    if value.get('__ndarray_class__') is not True:
        return value
    try:
        array = np.load(io.BytesIO(value['as_npy']), allow_pickle=False)
    except (KeyError, TypeError, ValueError, OSError) as err:
        raise InputError(f'groot: unreadable .npy array: {err}') from err
    checked_dtype(array.dtype.str)
    return array


def groot_pack(payload: Any) -> bytes:
    """Encode ``payload`` as msgpack with arrays as ``.npy`` bytes, as GR00T reads them."""
    packed: bytes = msgpack.packb(payload, default=_encode, use_bin_type=True)
    return packed


def groot_unpack(data: bytes) -> Any:
    """Decode GR00T's msgpack; InputError for bytes that are not msgpack or a refused array."""
    return unpack_with(data, object_hook=_decode, protocol='groot')


def groot_observation(observation: Observation, mapping: WireMapping) -> dict[str, Any]:
    """The N1.6 observation: video (1, 1, H, W, 3), state (1, 1, D), language [[text]].

    Raises:
        InputError: a missing camera or joint, or an empty instruction.
    """
    video = {'.'.join(slot.key): slot_image(
        observation, slot, height=mapping.image_height, width=mapping.image_width)[None, None]
        for slot in mapping.cameras}
    state = {'.'.join(slot.key): observation.positions_for(slot.joints).astype(
        np.float32)[None, None] for slot in mapping.state}
    language = {'.'.join(mapping.prompt_key):
                [[normalize_instruction(observation.instruction)]]} if mapping.prompt_key else {}
    return {'video': video, 'state': state, 'language': language}


def _action_tree(actions: dict[str, Any], mapping: WireMapping) -> dict[str, Any]:
    """The reply's action map keyed by the mapping's key paths, each array's batch of one dropped.

    Names the mapping does not know are left out; a name it needs and the reply lacks stays
    missing, for ``decode_actions`` to report.
    """
    tree: dict[str, Any] = {}
    for slot in mapping.actions:
        value = actions.get('.'.join(slot.key))
        if value is None:
            continue
        if isinstance(value, np.ndarray) and value.ndim == 3 and value.shape[0] == 1:
            value = value[0]
        node = tree
        for part in slot.key[:-1]:
            node = node.setdefault(part, {})
        node[slot.key[-1]] = value
    return tree


class GrootPolicy(RemoteClient):
    """A GR00T policy server; implements ``vla_ros.policies.base.Policy``.

    Raises:
        ConfigError: not a custom mapping, or no answer to ``ping`` within
            ``connect_timeout_s`` (naming the URL).
    """

    def __init__(self, server: RemoteServerConfig, *, api_token: str | None = None) -> None:
        if server.schema is not WireSchema.CUSTOM or server.mapping is None:
            raise ConfigError('policy.server.schema: the groot family takes schema custom with '
                              'a mapping of its modality keys')
        if not server.url.startswith('tcp://'):
            raise ConfigError(f'policy.server.url: {server.url!r}, expected tcp://host:port')
        super().__init__(server)
        self._mapping = server.mapping
        self._spec = spec_of(server.mapping)
        self._api_token = api_token
        self._context: zmq.Context[zmq.Socket[bytes]] = zmq.Context.instance()
        self._socket: zmq.Socket[bytes] | None = None
        try:
            self._request('ping', {}, server.connect_timeout_s)
        except PolicyOutputError as err:
            raise ConfigError(f'policy.server.url: no answer from {server.url} within '
                              f'{server.connect_timeout_s} s: {err}') from err

    def infer(self, observation: Observation) -> ActionChunk:
        """Send ``get_action`` and return the chunk of its action map.

        Raises:
            InputError: a missing camera or joint, or an empty instruction.
            PolicyOutputError: no reply in time, an error reply, or actions that do not fit.
        """
        data = {'observation': groot_observation(observation, self._mapping), 'options': None}
        with self._lock:
            self._backoff.check(self._server.url)
            started = time.perf_counter()
            reply = self._request('get_action', data, self._server.timeout_s)
            round_trip_ms = 1e3 * (time.perf_counter() - started)
        where = f'policy server {self._server.url}'
        if not (isinstance(reply, list) and len(reply) == 2 and isinstance(reply[0], dict)):
            raise PolicyOutputError(f'{where}: reply {type(reply).__name__}, expected '
                                    '[action map, info]')
        chunk = decode_actions(_action_tree(reply[0], self._mapping), self._mapping,
                               where=where)
        self._last_timing = CallTiming(round_trip_ms=round_trip_ms, server_ms=None)
        return chunk

    def close(self) -> None:
        """Close the socket (a new one is made if ``infer`` is called again)."""
        with self._lock:
            self._drop()

    def _request(self, endpoint: str, data: dict[str, Any], timeout_s: float) -> Any:
        """One request and its decoded reply; PolicyOutputError on timeout or error."""
        url = self._server.url
        message: dict[str, Any] = {'endpoint': endpoint, 'data': data}
        if self._api_token is not None:
            message['api_token'] = self._api_token
        if self._socket is None:
            self._socket = self._context.socket(zmq.REQ)
            self._socket.setsockopt(zmq.LINGER, 0)
            self._socket.connect(url)
        timeout_ms = max(1, int(1e3 * timeout_s))
        self._socket.setsockopt(zmq.RCVTIMEO, timeout_ms)
        self._socket.setsockopt(zmq.SNDTIMEO, timeout_ms)
        try:
            self._socket.send(groot_pack(message))
            reply = groot_unpack(self._socket.recv())
        except zmq.Again as err:
            self._fail()
            raise PolicyOutputError(f'policy server {url}: no reply within {timeout_s} s '
                                    '(policy.server.timeout_s); reconnecting') from err
        except (zmq.ZMQError, InputError) as err:
            self._fail()
            raise PolicyOutputError(f'policy server {url}: {err}; reconnecting') from err
        if reply == b'ERROR' or (isinstance(reply, dict) and 'error' in reply):
            text = reply.get('error') if isinstance(reply, dict) else 'ERROR'
            raise PolicyOutputError(f'policy server {url} answered with an error: '
                                    f'{str(text)[:300]}')
        self._backoff.succeeded()
        return reply

    def _fail(self) -> None:
        self._drop()
        self._backoff.failed()

    def _drop(self) -> None:
        if self._socket is not None:
            self._socket.close(linger=0)
            self._socket = None


def load(settings: PolicyConfig) -> GrootPolicy:
    """The registry's loader: check the server section and ping the server.

    Raises:
        ConfigError: no server section, an unset API key variable, or no answer.
    """
    if settings.server is None:
        raise ConfigError('policy.server: the groot family needs a server section')
    return GrootPolicy(settings.server,
                       api_token=api_key_from_env(settings.server.api_key_env))
