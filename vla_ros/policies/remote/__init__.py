# SPDX-License-Identifier: Apache-2.0
# Copyright 2026 The vla_ros authors
"""Remote policies: clients of policy servers, and a server for local policies. ROS-free.

- ``openpi``: openpi's websocket protocol (msgpack-numpy; ``wire_codec``), with the DROID,
  ALOHA and LIBERO key schemas or a custom mapping (``vla_ros.core.remote_config``), and the
  native schema of ``vla-ros serve`` (``native_schema``), whose spec comes from the server.
- ``groot``: Isaac-GR00T's ZMQ request/reply policy server.
- ``openvla``: OpenVLA's REST deploy server (``/act``).
- ``server``: serves any local family over the openpi protocol (``vla-ros serve``).
- ``ray_serve``: the same endpoint with the policy in Ray Serve replicas (``--ray``).
- ``served_rows``: absolute targets from a served checkpoint whose rows are offsets from the
  observed joints (``--joint-deltas``); both servers wrap such a policy.

Each client is an ordinary ``Policy``: the node's service, action server, execution strategies
and safety apply unchanged. A lost server, a timeout or a malformed reply raises
``PolicyOutputError`` (the node holds) and the client reconnects with bounded back-off
(``link``). Importing this package loads neither websockets nor zmq; the registry imports a
client module when its family is loaded.
"""

from __future__ import annotations

__all__ = [
    'batching', 'groot', 'link', 'native_schema', 'openpi', 'openvla', 'processor', 'ray_serve',
    'served_rows', 'server', 'wire_codec',
]
