# SPDX-License-Identifier: Apache-2.0
# Copyright 2026 The vla_ros authors
"""Serve a local policy over openpi's websocket protocol (the core of ``vla-ros serve``).

Wire-compatible with openpi's ``serve_policy.py`` (metadata frame on connect, one msgpack-numpy
observation -> one reply with ``actions``, a text frame for an error, ``GET /healthz``), so the
stock openpi client and our ``openpi`` family both talk to it, in the ``native_schema``. Where
the reference server's users complain, this one differs:

- it binds 127.0.0.1 unless told otherwise, and refuses to bind anywhere else without an API
  key (openpi #1039); the key is checked on connect (``Authorization: Api-Key <key>``, 401
  otherwise), compared in constant time;
- messages are bounded (``max_message_bytes``, 50 MiB by default; a larger one closes the
  connection with 1009, openpi #1043);
- clients get a one-line error, never a traceback; the traceback goes to our log;
- every connection has its own thread, so several robots are served at once (openpi #717);
  their requests go to one worker (``batching``): one at a time in arrival order by default,
  or, with a batch window, several clients' requests as one batched forward pass. A flow
  policy gives each connection its own noise stream, so a client's chunks do not depend on
  the other clients.
"""

from __future__ import annotations

from dataclasses import dataclass
import hmac
from http import HTTPStatus
import ipaddress
import logging
from pathlib import Path
import ssl
import threading
from typing import Any, Protocol, TYPE_CHECKING

import numpy as np
from websockets.exceptions import ConnectionClosed
from websockets.sync.server import serve, Server, ServerConnection

from vla_ros.core.errors import ConfigError, VlaRosError
from vla_ros.policies.remote.batching import Batcher, BatchOptions
from vla_ros.policies.remote.native_schema import observation_from_request, spec_metadata
from vla_ros.policies.remote.wire_codec import pack, unpack

if TYPE_CHECKING:
    from websockets.http11 import Request, Response

    from vla_ros.core.types import ActionChunk, Observation
    from vla_ros.policies.base import Policy
    from vla_ros.policies.remote.batching import ClientSlot, Served

__all__ = ['Dispatcher', 'PolicyServer', 'ServeOptions', 'check_options', 'is_loopback']

_LOG = logging.getLogger(__name__)
DEFAULT_MAX_MESSAGE_BYTES = 50 * 1024 * 1024


@dataclass(frozen=True, slots=True)
class ServeOptions:
    """Where and how the server listens.

    Attributes:
        host: address to bind; a non-loopback one requires ``api_key``.
        port: TCP port; 0 picks a free one (``PolicyServer.port`` tells which).
        api_key: the key clients must send; None accepts any client (loopback only).
        max_message_bytes: largest message accepted from a client, bytes.
        record_dir: when set, each request and reply is written there as ``NNNNNN.npz``.
        batching: how requests of several connections share forward passes; the default
            runs each request alone, in arrival order.
        certfile: PEM certificate (chain) to serve ``wss://`` with; None: plain ``ws://``.
        keyfile: its private key (PEM); None: the key is in ``certfile``.
    """

    host: str = '127.0.0.1'
    port: int = 8000
    api_key: str | None = None
    max_message_bytes: int = DEFAULT_MAX_MESSAGE_BYTES
    record_dir: Path | None = None
    batching: BatchOptions = BatchOptions()
    certfile: Path | None = None
    keyfile: Path | None = None

    @property
    def scheme(self) -> str:
        """``wss`` with a certificate, else ``ws``."""
        return 'ws' if self.certfile is None else 'wss'


def is_loopback(host: str) -> bool:
    """True for localhost and loopback addresses (127.0.0.0/8, ::1)."""
    if host == 'localhost':
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False


def check_options(options: ServeOptions) -> None:
    """Refuse a non-loopback host without an API key, and a message bound below 1 byte.

    Raises:
        ConfigError: naming the host or the bound.
    """
    if not is_loopback(options.host) and not options.api_key:
        raise ConfigError(f'serve: binding {options.host!r} exposes the policy to the '
                          'network; set an API key (--api-key-env) or bind 127.0.0.1')
    if options.keyfile is not None and options.certfile is None:
        raise ConfigError('serve: --keyfile without --certfile')
    if options.max_message_bytes < 1:
        raise ConfigError(f'serve: max message size {options.max_message_bytes!r}, '
                          'expected >= 1 byte')


def _tls_context(options: ServeOptions) -> ssl.SSLContext | None:
    """The server's TLS context, or None without a certificate.

    Raises:
        ConfigError: the certificate or key cannot be loaded.
    """
    if options.certfile is None:
        return None
    context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    try:
        context.load_cert_chain(options.certfile, options.keyfile)
    except (OSError, ssl.SSLError) as err:
        raise ConfigError(f'serve: cannot load the TLS certificate {str(options.certfile)!r} '
                          f'(key {str(options.keyfile)!r}): {err}') from err
    return context


class Dispatcher(Protocol):
    """Where the connections' requests are computed: ``Batcher`` (local) or Ray Serve replicas."""

    def open_client(self) -> ClientSlot:
        """Register a connection."""
        ...

    def close_client(self, slot: ClientSlot) -> None:
        """Unregister a connection."""
        ...

    def submit(self, slot: ClientSlot, observation: Observation) -> Served:
        """The chunk for one request (blocks); raises the policy's ``VlaRosError``."""
        ...

    def close(self) -> None:
        """Stop computing; requests still waiting fail."""
        ...


class PolicyServer:
    """Serves ``policy`` until ``close``; ``start`` binds and returns at once.

    ``dispatcher`` computes the requests (default: a ``Batcher`` running ``policy`` here, with
    ``options.batching``); ``ray_serve`` passes one that sends them to Ray Serve replicas.

    Raises:
        ConfigError: a non-loopback host without an API key, or a port that cannot be bound.
    """

    def __init__(self, policy: Policy, options: ServeOptions, *,
                 dispatcher: Dispatcher | None = None) -> None:
        check_options(options)
        self._policy = policy
        self._options = options
        self._metadata = pack(spec_metadata(policy.spec))
        self._served = 0
        try:
            self._server: Server = serve(
                self._handle, options.host, options.port, compression=None,
                max_size=options.max_message_bytes, process_request=self._process_request,
                ssl=_tls_context(options))
        except OSError as err:
            raise ConfigError(f'serve: cannot listen on {options.host}:{options.port}: '
                              f'{err}') from err
        self._thread = threading.Thread(target=self._server.serve_forever, name='policy_server',
                                        daemon=True)
        self._batcher: Dispatcher = (dispatcher if dispatcher is not None
                                     else Batcher(policy, options.batching, self._record))

    @property
    def port(self) -> int:
        """The bound TCP port."""
        return int(self._server.socket.getsockname()[1])

    def start(self) -> None:
        """Start accepting connections on a background thread."""
        self._thread.start()

    def close(self) -> None:
        """Stop accepting, close every connection and wait for the serving thread."""
        self._server.shutdown()
        if self._thread.is_alive():
            self._thread.join(timeout=10.0)
        self._batcher.close()

    def _process_request(self, connection: ServerConnection,
                         request: Request) -> Response | None:
        if request.path == '/healthz':
            return connection.respond(HTTPStatus.OK, 'OK\n')
        key = self._options.api_key
        if key is not None:
            sent = request.headers.get('Authorization', '')
            if not hmac.compare_digest(sent.encode(), f'Api-Key {key}'.encode()):
                _LOG.warning('refused %s: missing or wrong API key', connection.remote_address)
                return connection.respond(HTTPStatus.UNAUTHORIZED, 'missing or wrong API key\n')
        return None

    def _handle(self, connection: ServerConnection) -> None:
        """One client: metadata, then request -> reply until it closes or errs."""
        peer = connection.remote_address
        _LOG.info('client %s connected', peer)
        slot = self._batcher.open_client()
        try:
            connection.send(self._metadata)
            for frame in connection:
                if isinstance(frame, str):
                    self._refuse(connection, 'expected a binary msgpack frame, got text')
                    return
                reply = self._answer(connection, slot, frame)
                if reply is None:
                    return
                connection.send(reply)
        except ConnectionClosed as err:
            _LOG.info('client %s gone: %s', peer, err)
        finally:
            self._batcher.close_client(slot)

    def _answer(self, connection: ServerConnection, slot: ClientSlot,
                frame: bytes) -> bytes | None:
        """The reply to one request, or None after sending an error and closing."""
        try:
            served = self._batcher.submit(slot, observation_from_request(unpack(frame)))
        except VlaRosError as err:
            self._refuse(connection, f'{type(err).__name__}: {err}')
            return None
        except Exception:  # a bug in the model: log it, tell the client one line
            _LOG.exception('inference failed')
            self._refuse(connection, 'internal error in the policy server (see its log)')
            return None
        timing: dict[str, Any] = {'infer_ms': served.infer_ms, 'batch_size': served.batch_size}
        if served.replica is not None:
            timing['replica'] = served.replica
        return pack({'actions': served.chunk.positions, 'server_timing': timing})

    def _refuse(self, connection: ServerConnection, message: str) -> None:
        """Send one line of error text and close with 1011, as openpi's server does."""
        _LOG.warning('client %s: %s', connection.remote_address, message)
        connection.send(message[:500])
        connection.close(code=1011, reason='policy server error')

    def _record(self, observation: Observation, chunk: ActionChunk) -> None:
        directory = self._options.record_dir
        if directory is None:
            return
        index, self._served = self._served, self._served + 1  # on the batcher's one worker
        arrays: dict[str, Any] = {f'image_{name}': image
                                  for name, image in observation.images.items()}
        np.savez(directory / f'{index:06d}.npz', joint_names=np.array(observation.joint_names),
                 joint_positions=observation.joint_positions,
                 instruction=np.array(observation.instruction), actions=chunk.positions,
                 **arrays)
