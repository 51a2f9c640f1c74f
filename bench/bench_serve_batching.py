# SPDX-License-Identifier: Apache-2.0
# Copyright 2026 The vla_ros authors
"""``vla-ros serve`` with several robots: dynamic batching against one request at a time.

One random flow policy (the tiny test model by default, ``--width``/``--depth`` for a bigger
one) is served on 127.0.0.1 by ``PolicyServer``, once per mode and client count: one at a time
(``--max-batch 1``, the reference) and batched (``--max-batch 8 --batch-window-ms W``). N client
threads (1, 2, 4, 8) each send pre-packed openpi frames in a closed loop (send, wait for the
chunk, send the next). Reported: requests per second over all clients, p50 and p95 round trip
per request (ms) and the mean batch size. The runs alternate mode by mode and repeat
(``--repeats``), so machine load hits both modes alike. Clients share the server's process
(and its GIL), as both modes do.

    source scripts/env.sh && python bench/bench_serve_batching.py --requests 20 --repeats 3
"""

from __future__ import annotations

import argparse
from dataclasses import dataclass, field
import json
from pathlib import Path
import threading
import time

import numpy as np
import torch
from websockets.sync.client import connect

from vla_ros.core.types import Observation
from vla_ros.policies.flow.checkpoint import (
    build_model,
    DEFAULT_HOME_POSITIONS,
    DEFAULT_MOTION_STD,
    DEFAULT_SPEC,
    home_pose_normalization,
    ModelSize,
)
from vla_ros.policies.flow.config import FlowPolicyConfig
from vla_ros.policies.flow.model import FlowPolicy
from vla_ros.policies.flow.processor import FlowProcessor
from vla_ros.policies.remote.batching import BatchOptions
from vla_ros.policies.remote.server import PolicyServer, ServeOptions
from vla_ros.policies.remote.wire_codec import pack, unpack

INSTRUCTIONS = ('pick up the red cube', 'push the blue block left', 'stop', 'reach the bowl')


@dataclass(slots=True)
class Samples:
    """Everything measured for one mode and client count, over all repeats."""

    round_trips_ms: list[float] = field(default_factory=list)
    batch_sizes: list[int] = field(default_factory=list)
    requests: int = 0
    wall_s: float = 0.0


def make_policy(size: ModelSize) -> FlowPolicy:
    """A random flow policy for the default robot, built in memory (nothing written)."""
    model, hf_processor = build_model(DEFAULT_SPEC, size=size, seed=0)
    config = FlowPolicyConfig(
        spec=DEFAULT_SPEC, normalization=home_pose_normalization(
            DEFAULT_HOME_POSITIONS, DEFAULT_MOTION_STD), num_denoising_steps=10, noise_seed=0)
    processor = FlowProcessor(config, hf_processor, max_state_dim=model.config.max_state_dim,
                              max_action_dim=model.config.max_action_dim)
    return FlowPolicy(model, processor, config, device=torch.device('cpu'))


def request_frame(client: int, step: int) -> bytes:
    """Client ``client``'s ``step``-th request, packed as openpi-client packs it."""
    rng = np.random.default_rng(1000 * client + step)
    obs = Observation(
        images={name: rng.integers(0, 256, (64, 64, 3), dtype=np.uint8)
                for name in DEFAULT_SPEC.camera_names},
        joint_names=DEFAULT_SPEC.joint_names,
        joint_positions=np.asarray(DEFAULT_HOME_POSITIONS) + rng.normal(0, 0.05, 7),
        instruction=INSTRUCTIONS[client % len(INSTRUCTIONS)])
    return pack({'images': dict(obs.images), 'joint_names': list(obs.joint_names),
                 'joint_positions': obs.joint_positions, 'prompt': obs.instruction})


def measure(policy: FlowPolicy, batching: BatchOptions, frames: list[list[bytes]],
            samples: Samples) -> None:
    """Serve ``policy``; every client sends its frames in a closed loop after two warm-ups."""
    server = PolicyServer(policy, ServeOptions(port=0, batching=batching))
    server.start()
    start = threading.Barrier(len(frames) + 1, timeout=120)
    lock = threading.Lock()

    def client(own: list[bytes]) -> None:
        with connect(f'ws://127.0.0.1:{server.port}', compression=None, proxy=None,
                     max_size=None) as connection:
            connection.recv(timeout=60)  # metadata
            for frame in own[:2]:
                connection.send(frame)
                connection.recv(timeout=60)
            start.wait()
            trips, replies = [], []
            for frame in own[2:]:
                sent = time.perf_counter()
                connection.send(frame)
                replies.append(connection.recv(timeout=60))
                trips.append(1e3 * (time.perf_counter() - sent))
        sizes = [int(unpack(reply)['server_timing']['batch_size']) for reply in replies
                 if isinstance(reply, bytes)]
        with lock:
            samples.round_trips_ms.extend(trips)
            samples.batch_sizes.extend(sizes)

    threads = [threading.Thread(target=client, args=(own,)) for own in frames]
    try:
        for thread in threads:
            thread.start()
        start.wait()
        began = time.perf_counter()
        for thread in threads:
            thread.join(timeout=600)
        samples.wall_s += time.perf_counter() - began
        samples.requests += sum(len(own) - 2 for own in frames)
    finally:
        server.close()


def summary(samples: Samples) -> dict[str, float]:
    """Throughput, latency percentiles and mean batch size of one mode and client count."""
    trips = np.asarray(samples.round_trips_ms)
    return {'requests_per_s': samples.requests / samples.wall_s,
            'p50_ms': float(np.percentile(trips, 50)), 'p95_ms': float(np.percentile(trips, 95)),
            'mean_batch': float(np.mean(samples.batch_sizes))}


def main() -> None:
    """Run the benchmark and print a markdown table (and JSON with --json)."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument('--clients', type=int, nargs='+', default=[1, 2, 4, 8])
    parser.add_argument('--requests', type=int, default=20, help='timed requests per client')
    parser.add_argument('--repeats', type=int, default=3)
    parser.add_argument('--window-ms', type=float, default=5.0)
    parser.add_argument('--max-batch', type=int, default=8)
    parser.add_argument('--threads', type=int, default=2, help='torch CPU threads')
    parser.add_argument('--width', type=int, default=64, help='language model width')
    parser.add_argument('--depth', type=int, default=2, help='layers per tower')
    parser.add_argument('--json', type=Path, default=None)
    args = parser.parse_args()
    torch.set_num_threads(args.threads)
    size = ModelSize(width=args.width, expert_width=args.width // 2, depth=args.depth)
    policy = make_policy(size)
    parameters = sum(tensor.numel() for tensor in policy.model.parameters())
    modes = {'one at a time': BatchOptions(),
             'batched': BatchOptions(window_ms=args.window_ms, max_batch=args.max_batch)}
    results = {(mode, n): Samples() for n in args.clients for mode in modes}
    for _ in range(args.repeats):
        for n in args.clients:
            frames = [[request_frame(client, step) for step in range(args.requests + 2)]
                      for client in range(n)]
            for mode, batching in modes.items():
                measure(policy, batching, frames, results[(mode, n)])
    print(f'torch {torch.__version__}, {args.threads} threads, {parameters / 1e6:.2f} M '
          f'parameters, {args.requests} requests x {args.repeats} repeats per client, '
          f'batched: window {args.window_ms:g} ms, max {args.max_batch}')
    print('| clients | mode | requests/s | p50 ms | p95 ms | mean batch | x throughput |')
    print('|---:|---|---:|---:|---:|---:|---:|')
    table = []
    for n in args.clients:
        base = summary(results[('one at a time', n)])['requests_per_s']
        for mode in modes:
            row = summary(results[(mode, n)])
            table.append({'clients': n, 'mode': mode, **row})
            print(f'| {n} | {mode} | {row["requests_per_s"]:.1f} | {row["p50_ms"]:.1f} | '
                  f'{row["p95_ms"]:.1f} | {row["mean_batch"]:.2f} | '
                  f'{row["requests_per_s"] / base:.2f} |')
    if args.json:
        args.json.write_text(json.dumps(table, indent=2))


if __name__ == '__main__':
    main()
