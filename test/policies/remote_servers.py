# SPDX-License-Identifier: Apache-2.0
# Copyright 2026 The vla_ros authors
"""Small policy servers for the remote-family tests, written from the protocol facts.

Each listens on 127.0.0.1 on a free port in a thread of the test process and stops when the
test closes it. What they send is scripted per test (a well-formed reply, a wrong shape, NaN,
an error frame, a sleep past the client's timeout), so every fault the clients must survive
comes over a real socket.

- ``ScriptedOpenpiServer``: openpi's websocket server as protocols.md 1a describes it
  (``websocket_policy_server.py``): a msgpack metadata frame on connect, then one binary
  msgpack-numpy reply per request; a ``str`` reply goes out as a text (error) frame.
"""

from __future__ import annotations

from collections.abc import Callable
import threading
import time
from typing import Any

from websockets.exceptions import ConnectionClosed
from websockets.sync.server import serve, ServerConnection

from vla_ros.policies.remote.wire_codec import pack, unpack

#: request -> reply: a dict (packed), a str (sent as a text frame), or None (no answer).
Reply = Callable[[dict[str, Any]], 'dict[str, Any] | str | None']


class ScriptedOpenpiServer:
    """An openpi-protocol server whose replies a test scripts; keeps every request."""

    def __init__(self, reply: Reply, *, metadata: dict[str, Any] | None = None,
                 delay_s: float = 0.0) -> None:
        self.requests: list[dict[str, Any]] = []
        self.reply = reply
        self.delay_s = delay_s
        self._metadata = metadata or {}
        self._server = serve(self._handle, '127.0.0.1', 0, compression=None)
        self._thread = threading.Thread(target=self._server.serve_forever, daemon=True)
        self._thread.start()

    @property
    def url(self) -> str:
        """ws://127.0.0.1:PORT."""
        return f'ws://127.0.0.1:{self._server.socket.getsockname()[1]}'

    def _handle(self, connection: ServerConnection) -> None:
        try:
            connection.send(pack(self._metadata))
            for frame in connection:
                request = unpack(frame)
                self.requests.append(request)
                time.sleep(self.delay_s)
                reply = self.reply(request)
                if reply is None:
                    continue
                connection.send(reply if isinstance(reply, str) else pack(reply))
        except ConnectionClosed:
            pass

    def close(self) -> None:
        """Stop serving and wait for the thread."""
        self._server.shutdown()
        self._thread.join(timeout=10.0)

    def __enter__(self) -> ScriptedOpenpiServer:
        return self

    def __exit__(self, *exc_info: object) -> None:
        self.close()
