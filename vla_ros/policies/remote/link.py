# SPDX-License-Identifier: Apache-2.0
# Copyright 2026 The vla_ros authors
"""What every remote client shares: the API key, reconnect back-off, call timing, skeleton.

Losing the server is a safety event, not a crash: a client whose call fails raises
``PolicyOutputError`` (the runner holds within the cycle and shows the message in
``vla/status``), forgets its connection, and reconnects on a later call, no sooner than the
back-off allows (0.2 s, doubling to at most 5 s); until then a call fails at once, naming the
wait. A successful call resets the back-off.
"""

from __future__ import annotations

from dataclasses import dataclass
import os
import ssl
import threading
import time
from typing import Protocol, runtime_checkable, TYPE_CHECKING

from vla_ros.core.errors import ConfigError, PolicyOutputError

if TYPE_CHECKING:
    from vla_ros.core.policy import PolicySpec
    from vla_ros.core.remote_config import RemoteServerConfig

__all__ = ['Backoff', 'CallTiming', 'RemoteClient', 'ReportsTiming', 'api_key_from_env',
           'tls_context']

#: First and longest wait between reconnect attempts, seconds.
FIRST_RETRY_S = 0.2
LONGEST_RETRY_S = 5.0


def api_key_from_env(variable: str | None) -> str | None:
    """The API key in environment variable ``variable``; None when no variable is named.

    Raises:
        ConfigError: the variable is named but unset or empty.
    """
    if variable is None:
        return None
    key = os.environ.get(variable, '')
    if not key:
        raise ConfigError(f'policy.server.api_key_env: environment variable {variable!r} is '
                          'unset or empty; export the API key in it')
    return key


def tls_context(server: RemoteServerConfig) -> ssl.SSLContext | None:
    """The TLS client context for a ``wss://`` server (None for any other URL).

    Certificates are verified, host name included, against ``server.ca_file`` or, without
    one, the system's CAs.

    Raises:
        ConfigError: ``ca_file`` cannot be read as PEM certificates.
    """
    if not server.url.startswith('wss://'):
        return None
    try:
        return ssl.create_default_context(cafile=server.ca_file)
    except (OSError, ssl.SSLError) as err:
        raise ConfigError(f'policy.server.ca_file: cannot load {server.ca_file!r} as PEM '
                          f'certificates: {err}') from err


@dataclass(frozen=True, slots=True)
class CallTiming:
    """How long the latest successful call took.

    Attributes:
        round_trip_ms: from sending the request to decoding the reply, milliseconds.
        server_ms: what the server reports for its inference, milliseconds; None if it does
            not say.
    """

    round_trip_ms: float
    server_ms: float | None


@runtime_checkable
class ReportsTiming(Protocol):
    """A remote policy: the timing of its latest call, for ``vla/status``."""

    @property
    def last_timing(self) -> CallTiming | None:
        """The timing of the latest successful call; None before the first."""
        ...


class RemoteClient:
    """The shared part of a remote family's policy (openpi, groot, openvla).

    It holds the ``policy.server`` section, the lock that serialises calls, the reconnect
    ``Backoff`` and the latest call's timing; the family sets ``_spec`` in its constructor
    (from the mapping, or from what the server says) and writes ``_last_timing`` after each
    successful call.

    Args:
        server: the ``policy.server`` section.
    """

    _spec: PolicySpec

    def __init__(self, server: RemoteServerConfig) -> None:
        self._server = server
        self._lock = threading.Lock()
        self._backoff = Backoff()
        self._last_timing: CallTiming | None = None

    @property
    def spec(self) -> PolicySpec:
        """The policy's fixed input and output contract."""
        return self._spec

    @property
    def server(self) -> RemoteServerConfig:
        """Where the policy runs (its URL, timeouts and patience, for ``vla/status``)."""
        return self._server

    @property
    def last_timing(self) -> CallTiming | None:
        """The timing of the latest successful call; None before the first."""
        return self._last_timing


class Backoff:
    """When the next reconnect may be tried: bounded exponential back-off on a clock."""

    def __init__(self, *, first_s: float = FIRST_RETRY_S,
                 longest_s: float = LONGEST_RETRY_S) -> None:
        self._first_s = first_s
        self._longest_s = longest_s
        self._wait_s = 0.0
        self._next_s = 0.0

    def check(self, url: str) -> None:
        """Return if a connection may be tried now, else raise PolicyOutputError naming when."""
        left_s = self._next_s - time.monotonic()
        if left_s > 0.0:
            raise PolicyOutputError(f'policy server {url} unreachable; next reconnect attempt '
                                    f'in {left_s:.1f} s')

    def failed(self) -> float:
        """Record a failure; returns the wait before the next attempt, seconds."""
        self._wait_s = min(self._longest_s, max(self._first_s, 2.0 * self._wait_s))
        self._next_s = time.monotonic() + self._wait_s
        return self._wait_s

    def succeeded(self) -> None:
        """Record a success: the next failure waits the shortest time again."""
        self._wait_s = 0.0
        self._next_s = 0.0
