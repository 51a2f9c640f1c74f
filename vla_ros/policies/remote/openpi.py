# SPDX-License-Identifier: Apache-2.0
# Copyright 2026 The vla_ros authors
"""The ``openpi`` family: a policy served over openpi's websocket protocol (protocols.md 1a).

One connection, lock-step: on connect the server sends a metadata frame (msgpack); then each
call sends one observation (msgpack-numpy, binary frame) and reads one reply holding
``actions``. A text frame is the server's error. ``Authorization: Api-Key <key>`` is sent when
``policy.server.api_key_env`` names a key; ``wss://`` URLs use TLS. The observation keys are
the ``WireMapping``'s (DROID, ALOHA, LIBERO or custom), or, against ``vla-ros serve``, come
from the spec in its metadata frame.

Faults never pass silently: no connection within ``connect_timeout_s`` at start is a
``ConfigError`` naming the URL; later, a lost connection, no reply within ``timeout_s``, an
error frame or a reply that does not fit the mapping is a ``PolicyOutputError`` (the node
holds), and the client reconnects with bounded back-off (``link.Backoff``).
"""

from __future__ import annotations

import logging
import ssl
import time
from typing import Any, TYPE_CHECKING

from websockets.exceptions import ConnectionClosed, InvalidHandshake, InvalidURI
from websockets.sync.client import ClientConnection, connect

from vla_ros.core.errors import ConfigError, InputError, PolicyOutputError
from vla_ros.core.remote_config import WireSchema
from vla_ros.policies.remote.link import (
    api_key_from_env,
    CallTiming,
    RemoteClient,
    tls_context,
)
from vla_ros.policies.remote.native_schema import (
    native_mapping,
    native_request,
    spec_from_metadata,
)
from vla_ros.policies.remote.processor import decode_actions, encode_observation, spec_of
from vla_ros.policies.remote.wire_codec import pack, unpack

if TYPE_CHECKING:
    from vla_ros.core.config import PolicyConfig
    from vla_ros.core.remote_config import RemoteServerConfig, WireMapping
    from vla_ros.core.types import ActionChunk, Observation

__all__ = ['MAX_MESSAGE_BYTES', 'OpenpiPolicy', 'load']

_LOG = logging.getLogger(__name__)
#: Largest reply accepted, bytes (a 50 x 32 float64 chunk is 13 kB).
MAX_MESSAGE_BYTES = 16 * 1024 * 1024


class OpenpiPolicy(RemoteClient):
    """A policy on an openpi-protocol server; implements ``vla_ros.policies.base.Policy``.

    Connects at construction. ``spec`` comes from the mapping, or (``schema: vla_ros``) from
    the server's metadata frame.

    Args:
        server: the ``policy.server`` section.
        api_key: sent as ``Authorization: Api-Key``; None sends no header.

    Raises:
        ConfigError: no connection within ``server.connect_timeout_s``, a refused key, or a
            metadata frame without the spec the schema needs; the message names the URL.
    """

    def __init__(self, server: RemoteServerConfig, *, api_key: str | None = None) -> None:
        super().__init__(server)
        self._api_key = api_key
        self._connection: ClientConnection | None = None
        self.metadata: Any = None  # the server's latest metadata frame
        self._connect(server.connect_timeout_s)
        self._native = server.schema is WireSchema.VLA_ROS
        if self._native:
            self._spec = spec_from_metadata(self.metadata, url=server.url)
            self._mapping: WireMapping = native_mapping(self._spec)
        else:
            assert server.mapping is not None  # RemoteServerConfig checks this
            self._mapping = server.mapping
            self._spec = spec_of(server.mapping)

    def infer(self, observation: Observation) -> ActionChunk:
        """Send ``observation`` and return the server's chunk.

        Raises:
            InputError: the observation lacks a camera or joint the mapping needs.
            PolicyOutputError: no connection, no reply in time, an error frame, or a reply
                that does not fit the mapping; the connection is then re-made later.
        """
        request = (native_request(observation, self._spec) if self._native
                   else encode_observation(observation, self._mapping))
        message = pack(request)
        with self._lock:
            reply, round_trip_ms = self._call(message)
        where = f'policy server {self._server.url}'
        chunk = decode_actions(reply, self._mapping, where=where)
        timing = reply.get('server_timing') if isinstance(reply, dict) else None
        server_ms = timing.get('infer_ms') if isinstance(timing, dict) else None
        self._last_timing = CallTiming(
            round_trip_ms=round_trip_ms,
            server_ms=float(server_ms) if isinstance(server_ms, (int, float)) else None)
        return chunk

    def close(self) -> None:
        """Close the connection (the policy reconnects if ``infer`` is called again)."""
        with self._lock:
            self._drop()

    def _connect(self, timeout_s: float) -> None:
        """Open the connection and read the metadata frame, within ``timeout_s``.

        Raises:
            ConfigError: naming the URL and why.
        """
        url = self._server.url
        headers = {'Authorization': f'Api-Key {self._api_key}'} if self._api_key else None
        try:
            connection = connect(url, open_timeout=timeout_s, additional_headers=headers,
                                 compression=None, max_size=MAX_MESSAGE_BYTES, proxy=None,
                                 close_timeout=1.0, legacy=True, ssl=tls_context(self._server))
        except InvalidURI as err:
            raise ConfigError(f'policy.server.url: {url!r} is not a ws:// or wss:// URL') from err
        except ssl.SSLCertVerificationError as err:
            trusted = self._server.ca_file or "the system's CAs"
            raise ConfigError(f'policy.server.url: {url} refused: its TLS certificate does not '
                              f'chain to {trusted} (policy.server.ca_file): '
                              f'{err.verify_message}') from err
        except (OSError, TimeoutError, InvalidHandshake) as err:
            raise ConfigError(f'policy.server.url: cannot connect to {url} within '
                              f'{timeout_s} s: {err}') from err
        try:
            frame = connection.recv(timeout=timeout_s)
            if isinstance(frame, str):
                raise ConfigError(f'policy server {url}: error on connect: {frame[:300]}')
            self.metadata = unpack(frame)
        except (TimeoutError, ConnectionClosed, InputError) as err:
            connection.close()
            raise ConfigError(f'policy server {url}: no valid metadata frame within '
                              f'{timeout_s} s: {err!r}') from err
        self._connection = connection
        _LOG.info('connected to policy server %s (metadata %r)', url, self.metadata)

    def _call(self, message: bytes) -> tuple[Any, float]:
        """One request and its reply, and the round trip in ms; the lock is held.

        Raises:
            PolicyOutputError: see ``infer``.
        """
        url, timeout_s = self._server.url, self._server.timeout_s
        if self._connection is None:
            self._backoff.check(url)
            try:
                self._connect(timeout_s)
            except ConfigError as err:
                wait_s = self._backoff.failed()
                raise PolicyOutputError(f'{err}; next attempt in {wait_s:.1f} s') from err
        assert self._connection is not None
        started = time.perf_counter()
        try:
            self._connection.send(message)
            frame = self._connection.recv(timeout=timeout_s)
        except TimeoutError as err:
            self._fail()
            raise PolicyOutputError(f'policy server {url}: no reply within {timeout_s} s '
                                    '(policy.server.timeout_s); reconnecting') from err
        except (ConnectionClosed, OSError) as err:
            self._fail()
            raise PolicyOutputError(f'policy server {url}: connection lost ({err}); '
                                    'reconnecting') from err
        round_trip_ms = 1e3 * (time.perf_counter() - started)
        if isinstance(frame, str):
            self._fail()
            raise PolicyOutputError(f'policy server {url} answered with an error: '
                                    f'{frame.strip()[:300]}')
        try:
            reply = unpack(frame)
        except InputError as err:
            self._fail()
            raise PolicyOutputError(f'policy server {url}: unreadable reply: {err}') from err
        self._backoff.succeeded()
        return reply, round_trip_ms

    def _fail(self) -> None:
        self._drop()
        self._backoff.failed()

    def _drop(self) -> None:
        if self._connection is not None:
            self._connection.close()
            self._connection = None


def load(settings: PolicyConfig) -> OpenpiPolicy:
    """The registry's loader: connect to ``settings.server``.

    Raises:
        ConfigError: no server section, an unset API key variable, or no connection.
    """
    if settings.server is None:
        raise ConfigError('policy.server: the openpi family needs a server section')
    if not settings.server.url.startswith(('ws://', 'wss://')):
        raise ConfigError(f'policy.server.url: {settings.server.url!r}, expected ws:// or '
                          'wss:// for the openpi family')
    return OpenpiPolicy(settings.server, api_key=api_key_from_env(settings.server.api_key_env))
