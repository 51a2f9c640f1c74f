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

Run as a script (``python remote_servers.py --answers N``), the module is a policy server in
a process of its own for the node tests: the ``vla-ros serve`` schema for the tabletop arm
(``TABLETOP_SPEC``), answering the first N requests with a slow joint1 sweep (``sweep``) and
then hanging: it accepts every later request and never answers (a stuck GPU, a deadlock). The
first stdout line names its URL.
"""

from __future__ import annotations

import argparse
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
#: What the script's server advertises: the tabletop arm, its front camera, 10 steps of 0.1 s.
TABLETOP_SPEC = PolicySpec(joint_names=JOINTS, camera_names=('front',), image_height=16,
                           image_width=16, chunk_length=10, dt_s=0.1)
#: joint1's step in each row of a ``sweep`` chunk, rad (0.2 rad/s at 0.1 s a step).
SWEEP_STEP_RAD = 0.02

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


class ScriptedGrootServer:
    """GR00T's ZMQ policy server as protocols.md 1c describes it (``server_client.py``, N1.6).

    A REP socket; requests are msgpack maps ``{endpoint, data, api_token?}`` with arrays as
    ``{'__ndarray_class__': True, 'as_npy': np.save bytes}``; ``ping`` answers a status map,
    ``get_action`` calls ``reply(observation)``, which returns ``[action map, info]`` or
    ``{'error': text}``; a wrong ``api_token`` gets ``{'error': 'Unauthorized: ...'}``.
    """

    def __init__(self, reply: Callable[[dict[str, Any]], Any], *, api_token: str | None = None,
                 delay_s: float = 0.0) -> None:
        import zmq

        self.observations: list[dict[str, Any]] = []
        self.reply = reply
        self.delay_s = delay_s
        self._api_token = api_token
        self._socket = zmq.Context.instance().socket(zmq.REP)
        self._socket.setsockopt(zmq.LINGER, 0)
        self.port = self._socket.bind_to_random_port('tcp://127.0.0.1')
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._serve, daemon=True)
        self._thread.start()

    @property
    def url(self) -> str:
        """tcp://127.0.0.1:PORT."""
        return f'tcp://127.0.0.1:{self.port}'

    @staticmethod
    def _decode(value: dict[Any, Any]) -> Any:
        import io

        if value.get('__ndarray_class__'):
            return np.load(io.BytesIO(value['as_npy']), allow_pickle=False)
        return value

    @staticmethod
    def _encode(value: Any) -> Any:
        import io

        buffer = io.BytesIO()
        np.save(buffer, value, allow_pickle=False)
        return {'__ndarray_class__': True, 'as_npy': buffer.getvalue()}

    def _answer(self, request: dict[str, Any]) -> Any:
        if self._api_token is not None and request.get('api_token') != self._api_token:
            return {'error': 'Unauthorized: Invalid API token'}
        if request.get('endpoint') == 'ping':
            return {'status': 'ok', 'message': 'Server is running'}
        observation = request['data']['observation']
        self.observations.append(observation)
        time.sleep(self.delay_s)
        return self.reply(observation)

    def _serve(self) -> None:
        import msgpack

        while not self._stop.is_set():
            if not self._socket.poll(50):
                continue
            request = msgpack.unpackb(self._socket.recv(), object_hook=self._decode, raw=False)
            answer = self._answer(request)
            self._socket.send(msgpack.packb(answer, default=self._encode, use_bin_type=True))

    def close(self) -> None:
        """Stop serving and close the socket."""
        self._stop.set()
        self._thread.join(timeout=10.0)
        self._socket.close(linger=0)

    def __enter__(self) -> ScriptedGrootServer:
        return self

    def __exit__(self, *exc_info: object) -> None:
        self.close()


class ScriptedOpenvlaServer:
    """OpenVLA's REST deploy server as protocols.md 1d describes it (``vla-scripts/deploy.py``).

    ``POST /act`` with a JSON body whose arrays are json-numpy objects (``{'__numpy__': base64,
    'dtype': descr, 'shape': [...]}``); ``reply(payload)`` returns the action array (sent as a
    json-numpy object, or JSON-encoded once more inside a string when ``encoded``), or the
    string ``'error'``.
    """

    def __init__(self, reply: Callable[[dict[str, Any]], Any], *, encoded: bool = False,
                 delay_s: float = 0.0) -> None:
        import base64
        from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
        import json

        self.payloads: list[dict[str, Any]] = []
        self.reply = reply
        self.delay_s = delay_s
        outer = self

        def decode(value: dict[str, Any]) -> Any:
            if '__numpy__' in value:
                data = base64.b64decode(value['__numpy__'])
                return np.frombuffer(data, dtype=np.dtype(value['dtype'])).reshape(
                    value['shape'])
            return value

        def encode(value: Any) -> Any:
            if isinstance(value, np.ndarray):
                return {'__numpy__': base64.b64encode(value.tobytes()).decode(),
                        'dtype': value.dtype.str, 'shape': list(value.shape)}
            return value

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self) -> None:
                body = self.rfile.read(int(self.headers['Content-Length']))
                payload = json.loads(body, object_hook=decode)
                outer.payloads.append(payload)
                time.sleep(outer.delay_s)
                action = outer.reply(payload)
                text = json.dumps(encode(action))
                if encoded and not isinstance(action, str):
                    text = json.dumps(text)
                try:
                    self.send_response(200)
                    self.send_header('Content-Type', 'application/json')
                    self.end_headers()
                    self.wfile.write(text.encode())
                except BrokenPipeError:  # the client timed out and left
                    pass

            def log_message(self, *args: object) -> None:
                pass

        self._server = ThreadingHTTPServer(('127.0.0.1', 0), Handler)
        self._server.daemon_threads = True
        self._thread = threading.Thread(target=self._server.serve_forever, daemon=True)
        self._thread.start()

    @property
    def url(self) -> str:
        """http://127.0.0.1:PORT."""
        return f'http://127.0.0.1:{self._server.server_address[1]}'

    def close(self) -> None:
        """Stop serving."""
        self._server.shutdown()
        self._server.server_close()
        self._thread.join(timeout=10.0)

    def __enter__(self) -> ScriptedOpenvlaServer:
        return self

    def __exit__(self, *exc_info: object) -> None:
        self.close()


def sweep(request: dict[str, Any]) -> dict[str, Any]:
    """A native-schema reply: from the observed joints, joint1 rises SWEEP_STEP_RAD a row."""
    names = list(request['joint_names'])
    observed = np.array([request['joint_positions'][names.index(joint)] for joint in JOINTS])
    actions = np.tile(observed, (TABLETOP_SPEC.chunk_length, 1))
    actions[:, 0] += SWEEP_STEP_RAD * np.arange(1, TABLETOP_SPEC.chunk_length + 1)
    return {'actions': actions, 'server_timing': {'infer_ms': 0.1}}


def main() -> None:
    """Serve ``sweep`` for ``--answers`` requests, then hang; until killed."""
    from vla_ros.policies.remote.native_schema import spec_metadata

    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument('--answers', type=int, required=True,
                        help='requests answered before the server hangs')
    args = parser.parse_args()
    answered = threading.Semaphore(args.answers)
    hung = threading.Event()

    def reply(request: dict[str, Any]) -> dict[str, Any] | None:
        if not answered.acquire(blocking=False):
            hung.wait()  # never set: this connection's thread sleeps until the process ends
        return sweep(request)

    server = ScriptedOpenpiServer(reply, metadata=spec_metadata(TABLETOP_SPEC))
    print(f'remote_servers: hanging after {args.answers} answers on {server.url}', flush=True)
    hung.wait()


if __name__ == '__main__':
    main()
