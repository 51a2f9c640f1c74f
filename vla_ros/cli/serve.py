# SPDX-License-Identifier: Apache-2.0
# Copyright 2026 The vla_ros authors
"""`vla-ros serve`: serve a local policy over openpi's websocket protocol, until Ctrl-C.

Run it on the GPU machine; the robot's policy node connects with ``policy.family: openpi``
(``schema: vla_ros``: joints, cameras and chunk come from the metadata frame). The stock openpi
client works too. It binds 127.0.0.1 by default; any other address needs ``--api-key-env``
(openpi #1039). The first line on stdout names the URL it listens on (``--port 0`` picks a
free port) and, like the policy node's configure log, which inference path runs and how long
the warm-up inference took (one inference on black images, before the socket opens, so the
first robot's request does not pay for allocation or compilation). ``GET /healthz`` answers
``OK``. ``--max-batch N`` (with ``--batch-window-ms``)
runs the requests of up to N robots as one batched forward pass (``policies.remote.batching``).
``--certfile``/``--keyfile`` serve ``wss://`` (TLS); robots then set ``policy.server.ca_file``
to the CA that signed the certificate (or the certificate itself, when self-signed).
``--ray --replicas N`` loads the policy in N Ray Serve replicas behind the same endpoint
(``policies.remote.ray_serve``): a local Ray, or a cluster with ``--ray-address``.
"""

from __future__ import annotations

import argparse
import logging
from pathlib import Path
import signal
import sys
import threading
from types import FrameType
from typing import TYPE_CHECKING

from vla_ros.core.errors import ConfigError

if TYPE_CHECKING:
    from vla_ros.policies.base import Policy
    from vla_ros.policies.remote.batching import BatchOptions
    from vla_ros.policies.remote.ray_serve import RayOptions, RayServedPolicy

__all__ = ['add_arguments', 'run']

REMOTE_FAMILIES = ('openpi', 'groot', 'openvla')


def add_arguments(parser: argparse.ArgumentParser) -> None:
    """Declare the verb's options."""
    parser.add_argument('--config', type=Path,
                        help='embodiment YAML whose policy section names the checkpoint')
    parser.add_argument('--family', help='policy family (flow, fast, tokens, diffusion)')
    parser.add_argument('--checkpoint', type=Path, help='checkpoint directory')
    parser.add_argument('--device', help="torch device (default: the config's, else cpu)")
    parser.add_argument('--threads', type=int, help='torch CPU threads')
    parser.add_argument('--host', default='127.0.0.1',
                        help='address to bind (default 127.0.0.1; others need --api-key-env)')
    parser.add_argument('--port', type=int, default=8000, help='TCP port (default 8000; 0: any)')
    parser.add_argument('--api-key-env', metavar='VARIABLE',
                        help='environment variable holding the API key clients must send')
    parser.add_argument('--certfile', type=Path, metavar='PEM',
                        help='serve wss:// (TLS) with this certificate (chain)')
    parser.add_argument('--keyfile', type=Path, metavar='PEM',
                        help="the certificate's private key (default: in --certfile)")
    parser.add_argument('--max-message-mb', type=float, default=50.0,
                        help='largest message accepted, MiB (default 50)')
    parser.add_argument('--record', type=Path, metavar='DIR',
                        help='write every request and its chunk to DIR/NNNNNN.npz')
    parser.add_argument('--max-batch', type=int, default=1, metavar='N',
                        help='most requests of different clients in one forward pass '
                             '(default 1: one at a time)')
    parser.add_argument('--batch-window-ms', type=float, default=5.0, metavar='MS',
                        help='with --max-batch above 1, longest wait after a request for '
                             'other clients to join its batch, ms (default 5)')
    parser.add_argument('--ray', action='store_true',
                        help='run the policy as a Ray Serve deployment behind this endpoint')
    parser.add_argument('--replicas', type=int, metavar='N',
                        help='with --ray: replicas, each loading the policy (default 1)')
    parser.add_argument('--ray-address', metavar='ADDRESS',
                        help='with --ray: a running cluster (auto, HOST:6379, ray://HOST:10001);'
                             ' default: start a local Ray')
    parser.add_argument('--num-gpus-per-replica', type=float, metavar='G',
                        help='with --ray: GPUs per replica (default 0)')
    parser.add_argument('--num-cpus-per-replica', type=float, metavar='C',
                        help='with --ray: CPUs per replica (default 1)')


def _ray_options(args: argparse.Namespace) -> RayOptions | None:
    """The --ray options, or None without --ray (where any of them is an error)."""
    given = {'--replicas': args.replicas, '--ray-address': args.ray_address,
             '--num-gpus-per-replica': args.num_gpus_per_replica,
             '--num-cpus-per-replica': args.num_cpus_per_replica}
    if not args.ray:
        stray = [flag for flag, value in given.items() if value is not None]
        if stray:
            raise ConfigError(f'serve: {stray[0]} needs --ray')
        return None
    if args.max_batch != 1 or args.record is not None:
        raise ConfigError('serve: --ray serves one request at a time per replica; '
                          '--max-batch and --record are for the local server')
    from vla_ros.policies.remote.ray_serve import RayOptions

    return RayOptions(replicas=1 if args.replicas is None else args.replicas,
                      num_gpus_per_replica=args.num_gpus_per_replica or 0.0,
                      num_cpus_per_replica=(1.0 if args.num_cpus_per_replica is None
                                            else args.num_cpus_per_replica),
                      address=args.ray_address)


def _load(args: argparse.Namespace,
          ray: RayOptions | None) -> tuple[str, Path, Policy, RayServedPolicy | None]:
    """The policy to serve (here, or in Ray replicas): the config's section, then the flags."""
    from vla_ros.core.config import load_config
    from vla_ros.policies.registry import load_policy
    from vla_ros.policies.remote.served_rows import served_policy

    settings = load_config(args.config).policy if args.config else None
    family = args.family or (settings.family if settings else None)
    checkpoint = args.checkpoint or (settings.checkpoint if settings else None)
    if family is None or checkpoint is None:
        raise ConfigError('serve: give --config, or --family and --checkpoint')
    if family in REMOTE_FAMILIES:
        raise ConfigError(f'serve: {family!r} is a remote family; serve a local one (flow, '
                          'fast, tokens, diffusion)')
    device = args.device or (settings.device if settings else 'cpu')
    threads = args.threads if args.threads is not None else (
        settings.threads if settings else None)
    if ray is not None:
        from vla_ros.policies.remote.ray_serve import PolicySource, RayServedPolicy

        if device.startswith('cuda') and not ray.num_gpus_per_replica:
            raise ConfigError(f'serve: --device {device} with --ray needs '
                              '--num-gpus-per-replica above 0 (Ray hides GPUs otherwise)')
        served = RayServedPolicy(PolicySource(family, checkpoint, device, threads, settings), ray)
        return family, checkpoint, served, served
    loaded = load_policy(family, checkpoint, device=device, threads=threads, settings=settings)
    return family, checkpoint, served_policy(loaded), None


def _warm_up_words(policy: Policy, ray: RayOptions | None) -> str:
    """Warm the local policy up; say which inference path it runs and how long that took."""
    if ray is not None:
        return 'inference: in the Ray replicas, not warmed up here'
    from vla_ros.core.warm_up import warm_up

    path = getattr(policy, 'inference_path', '')
    if not (isinstance(path, str) and path):
        path = 'as the family implements it'
    return f'inference: {path}; warm-up inference {warm_up(policy):.0f} ms'


def _batching_words(batching: BatchOptions, ray: RayOptions | None) -> str:
    if ray is not None:
        return f'{ray.replicas} Ray Serve replicas, one request at a time each'
    if batching.max_batch == 1:
        return 'one request at a time'
    return f'batches of up to {batching.max_batch} within {batching.window_ms:g} ms'


def run(args: argparse.Namespace) -> int:
    """Load the policy, serve it, return 0 on Ctrl-C or SIGTERM."""
    from vla_ros.policies.remote.batching import BatchOptions
    from vla_ros.policies.remote.link import api_key_from_env
    from vla_ros.policies.remote.server import check_options, PolicyServer, ServeOptions

    logging.basicConfig(level=logging.INFO, format='%(asctime)s %(levelname)s %(message)s')
    if args.max_message_mb <= 0:
        raise ConfigError(f'serve: --max-message-mb {args.max_message_mb!r}, expected > 0')
    if args.record is not None:
        args.record.mkdir(parents=True, exist_ok=True)
    api_key = api_key_from_env(args.api_key_env)
    options = ServeOptions(host=args.host, port=args.port, api_key=api_key,
                           max_message_bytes=int(args.max_message_mb * 1024 * 1024),
                           record_dir=args.record, certfile=args.certfile,
                           keyfile=args.keyfile,
                           batching=BatchOptions(window_ms=args.batch_window_ms,
                                                 max_batch=args.max_batch))
    check_options(options)  # before the model loads, which may take minutes
    ray = _ray_options(args)
    family, checkpoint, policy, served = _load(args, ray)
    try:
        warmed = _warm_up_words(policy, ray)
        server = PolicyServer(policy, options, dispatcher=served)
    except ConfigError:
        if served is not None:
            served.close()
        raise
    stop = threading.Event()

    def _on_signal(_signum: int, _frame: FrameType | None) -> None:
        stop.set()

    previous = signal.signal(signal.SIGTERM, _on_signal)
    server.start()
    spec = policy.spec
    print(f'vla-ros serve: {family} from {checkpoint} on '
          f'{options.scheme}://{args.host}:{server.port} '
          f'(joints {list(spec.joint_names)}, cameras {list(spec.camera_names)}, '
          f'chunk {spec.chunk_length} x {spec.dt_s} s; key {"required" if api_key else "none"}; '
          f'{_batching_words(options.batching, ray)}; {warmed})',
          flush=True)
    try:
        while not stop.wait(0.2):
            pass
    except KeyboardInterrupt:
        pass
    finally:
        signal.signal(signal.SIGTERM, previous)
        server.close()
    print('vla-ros serve: stopped', file=sys.stderr)
    return 0
