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

import numpy as np
from websockets.exceptions import ConnectionClosed
from websockets.sync.server import serve, ServerConnection

from vla_ros.core.types import ActionChunk, Observation
from vla_ros.policies.base import PolicySpec
from vla_ros.policies.remote.wire_codec import pack, unpack

JOINTS = ('joint1', 'joint2', 'joint3', 'joint4', 'joint5', 'joint6', 'gripper_joint')

class RampPolicy:
    """A tiny real policy: row k is the observed joints + 0.01 k + the front image's mean / 255."""

    spec = PolicySpec(joint_names=JOINTS, camera_names=('front',), image_height=8,
                      image_width=8, chunk_length=4, dt_s=0.1)

    def infer(self, observation: Observation) -> ActionChunk:
        """The ramp from the observed joints."""
        start = observation.positions_for(JOINTS)
        offset = 0.01 * np.arange(1, 5)[:, None] + observation.images['front'].mean() / 255.0
        return ActionChunk(joint_names=JOINTS, positions=start + offset, dt_s=0.1)


def expected_ramp(obs: Observation) -> np.ndarray:
    return RampPolicy().infer(obs).positions


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
