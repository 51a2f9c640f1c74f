# SPDX-License-Identifier: Apache-2.0
# Copyright 2026 The vla_ros authors
"""``vla-ros serve --ray``: the policy runs in Ray Serve replicas behind the same openpi endpoint.

The robots still connect to one ``PolicyServer`` (``server``): the same code gives the same
metadata frame, API key check, message-size bound, ``/healthz`` and one-line errors. Only where
a request is computed changes: instead of the local ``Batcher``, ``RayServedPolicy`` sends each
request through a Ray Serve ``DeploymentHandle`` to a replica of ``PolicyReplica``, each of
which loads the policy (on its own GPU with ``num_gpus_per_replica``). A replica takes one
request at a time (``max_ongoing_requests=1``), so Ray's router gives the next request to an
idle replica and queues the rest. Why not Ray Serve's own (FastAPI) websocket ingress: every
rule above would have to be written a second time on Starlette and kept identical; the front
does little work (websocket frames, msgpack) next to the model, which is what has to scale.

Noise: each connection has its own noise stream (``BatchPolicy.new_noise_stream``, seeded as
a freshly loaded policy's), which travels with each request to whichever replica computes it
and comes back advanced. A client's chunks are therefore those a freshly loaded policy gives
it, whatever replica serves which request. A family without ``BatchPolicy`` samples from the
serving replica's own state.

Each reply names its replica (``server_timing.replica``), and when a client leaves the log
says how many of its requests each replica served. Ray moves observations and streams between
its own processes with pickle: keep the Ray cluster's ports on a trusted network, as Ray's
documentation says. Robots only ever talk to the front (msgpack, never pickle).
"""

from __future__ import annotations

from collections import Counter
import copy
from dataclasses import dataclass
import logging
import math
import os
from pathlib import Path
import socket
import threading
import time
from typing import Any, TYPE_CHECKING

from vla_ros.core.errors import (
    ConfigError,
    InputError,
    PolicyOutputError,
    SafetyViolation,
    VlaRosError,
)
from vla_ros.policies.remote.batching import BatchPolicy, ClientSlot, Served

if TYPE_CHECKING:
    from vla_ros.core.config import PolicyConfig
    from vla_ros.core.types import ActionChunk, Observation
    from vla_ros.policies.base import Policy, PolicySpec

__all__ = ['PolicyReplica', 'PolicySource', 'RayOptions', 'RayServedPolicy', 'ReplicaReply']

_LOG = logging.getLogger(__name__)
#: errors a replica reports by name; the front raises the same kind, so clients read the same text
_ERRORS: dict[str, type[VlaRosError]] = {kind.__name__: kind for kind in (
    VlaRosError, ConfigError, InputError, PolicyOutputError, SafetyViolation)}


@dataclass(frozen=True, slots=True)
class RayOptions:
    """Where the replicas run.

    Attributes:
        replicas: how many replicas load the policy (>= 1).
        num_gpus_per_replica: GPUs reserved for each replica (>= 0; fractions share one).
        num_cpus_per_replica: CPUs reserved for each replica (> 0).
        address: a running Ray cluster (``auto``, ``ray://host:10001``, ``host:6379``); None
            starts a local Ray instance with just the replicas' resources.
        deploy_timeout_s: longest wait for every replica to load the policy, s.
        request_timeout_s: longest wait for one request's chunk, s.
    """

    replicas: int = 1
    num_gpus_per_replica: float = 0.0
    num_cpus_per_replica: float = 1.0
    address: str | None = None
    deploy_timeout_s: float = 600.0
    request_timeout_s: float = 120.0

    def __post_init__(self) -> None:
        if isinstance(self.replicas, bool) or not 1 <= self.replicas <= 1024:
            raise ConfigError(f'serve: --replicas {self.replicas!r}, expected 1 to 1024')
        if not self.num_gpus_per_replica >= 0.0:
            raise ConfigError(f'serve: --num-gpus-per-replica {self.num_gpus_per_replica!r}, '
                              'expected >= 0')
        if not self.num_cpus_per_replica > 0.0:
            raise ConfigError(f'serve: --num-cpus-per-replica {self.num_cpus_per_replica!r}, '
                              'expected > 0')


@dataclass(frozen=True, slots=True)
class PolicySource:
    """What every replica loads (``registry.load_policy``'s arguments)."""

    family: str
    checkpoint: Path
    device: str
    threads: int | None
    settings: PolicyConfig | None


@dataclass(frozen=True, slots=True)
class ReplicaReply:
    """A replica's answer: a chunk, or the name and text of the ``VlaRosError`` it raised."""

    replica: str
    stream: object | None  #: the client's noise stream, advanced past this request
    chunk: ActionChunk | None = None
    infer_ms: float = 0.0
    error: tuple[str, str] | None = None


class PolicyReplica:
    """The Ray Serve deployment: one loaded policy per replica.

    Raises:
        ConfigError: the checkpoint cannot be loaded here (the deployment then fails).
    """

    def __init__(self, source: PolicySource) -> None:
        from ray import serve

        from vla_ros.policies.registry import load_policy
        from vla_ros.policies.remote.served_rows import served_policy

        self._policy: Policy = served_policy(load_policy(
            source.family, source.checkpoint, device=source.device, threads=source.threads,
            settings=source.settings))
        self._batched: BatchPolicy[Any] | None = (
            self._policy if isinstance(self._policy, BatchPolicy) else None)
        self._replica = str(serve.get_replica_context().replica_id.unique_id)

    def spec(self) -> PolicySpec:
        """The served policy's spec."""
        return self._policy.spec

    def new_noise_stream(self) -> object | None:
        """A fresh client noise stream, or None for a family without ``BatchPolicy``."""
        return None if self._batched is None else self._batched.new_noise_stream()

    def infer(self, observation: Observation, stream: object | None) -> ReplicaReply:
        """The chunk for ``observation``, its noise drawn from ``stream``; errors by name."""
        started = time.perf_counter()
        try:
            if self._batched is not None and stream is not None:
                chunk = self._batched.infer_batch([observation], [stream])[0]
            else:
                chunk = self._policy.infer(observation)
        except VlaRosError as err:
            return ReplicaReply(self._replica, stream, error=(type(err).__name__, str(err)))
        return ReplicaReply(self._replica, stream, chunk=chunk,
                            infer_ms=1e3 * (time.perf_counter() - started))


class _RaySlot(ClientSlot):
    """A connection's noise stream and how many of its requests each replica served."""

    def __init__(self, stream: object | None) -> None:
        super().__init__(stream)
        self.served_by: Counter[str] = Counter()


class RayServedPolicy:
    """The policy in Ray Serve replicas: a ``Policy`` and the server's ``Dispatcher``.

    Connects to (or starts) Ray, deploys ``options.replicas`` replicas of ``source`` and waits
    until every one has loaded it. ``close`` removes the deployment (and a local Ray).

    Raises:
        ConfigError: Ray cannot be reached, the cluster lacks the GPUs or CPUs asked for, or the
            replicas did not load the policy within ``options.deploy_timeout_s``.
    """

    def __init__(self, source: PolicySource, options: RayOptions) -> None:
        import ray
        from ray import serve

        self._options = options
        self._app = f'vla_ros_{socket.gethostname()}_{os.getpid()}'
        self._local = options.address is None
        try:
            if self._local:
                ray.init(address='local', include_dashboard=False,
                         num_cpus=max(1, math.ceil(options.replicas
                                                   * options.num_cpus_per_replica)))
            else:
                ray.init(address=options.address, include_dashboard=False)
        except (ConnectionError, RuntimeError, ValueError) as err:
            raise ConfigError(f'serve --ray: cannot reach Ray at {options.address!r}: '
                              f'{err}') from err
        try:
            _check_resources(ray.cluster_resources(), options)  # type: ignore[no-untyped-call]
            self._handle = _deploy(serve, source, options, self._app)
            self._spec: PolicySpec = self._handle.spec.remote().result(
                timeout_s=options.request_timeout_s)
            self._stream = self._handle.new_noise_stream.remote().result(
                timeout_s=options.request_timeout_s)
        except BaseException:
            self._shut_down()
            raise
        self._own_slot = self.open_client()
        self._own_lock = threading.Lock()

    @property
    def spec(self) -> PolicySpec:
        """The served policy's spec (from a replica)."""
        return self._spec

    def infer(self, observation: Observation) -> ActionChunk:
        """The chunk for ``observation`` from some replica (one noise stream for all callers).

        Raises:
            VlaRosError: the replica's error for this request, or no reply in time.
        """
        with self._own_lock:
            return self.submit(self._own_slot, observation).chunk

    def open_client(self) -> ClientSlot:
        """A new connection: its own copy of a fresh noise stream."""
        return _RaySlot(copy.deepcopy(self._stream))

    def close_client(self, slot: ClientSlot) -> None:
        """Log which replicas served the connection's requests."""
        if isinstance(slot, _RaySlot):
            _LOG.info('client done: %d requests served by replicas %s',
                      sum(slot.served_by.values()), dict(sorted(slot.served_by.items())))

    def submit(self, slot: ClientSlot, observation: Observation) -> Served:
        """Compute one request on a replica (blocks until its chunk is back).

        Raises:
            VlaRosError: the kind the replica raised (same text), or no reply in time.
        """
        timeout_s = self._options.request_timeout_s
        try:
            reply: ReplicaReply = self._handle.infer.remote(observation, slot.stream).result(
                timeout_s=timeout_s)
        except TimeoutError as err:
            raise VlaRosError(f'no chunk from a policy replica within {timeout_s} s') from err
        if reply.error is not None:
            kind, text = reply.error
            raise _ERRORS.get(kind, VlaRosError)(text)
        assert reply.chunk is not None
        slot.stream = reply.stream
        if isinstance(slot, _RaySlot):
            slot.served_by[reply.replica] += 1
        return Served(reply.chunk, reply.infer_ms, 1, reply.replica)

    def close(self) -> None:
        """Remove the deployment; disconnect from Ray (and stop it if started here)."""
        self._shut_down()

    def _shut_down(self) -> None:
        import ray
        from ray import serve

        if not ray.is_initialized():
            return
        try:
            if self._local:
                serve.shutdown()  # type: ignore[no-untyped-call]
            else:
                serve.delete(self._app)
        finally:
            ray.shutdown()


def _check_resources(cluster: dict[str, float], options: RayOptions) -> None:
    """Refuse a deployment the cluster can never place, naming what is missing."""
    for resource, per_replica in (('GPU', options.num_gpus_per_replica),
                                  ('CPU', options.num_cpus_per_replica)):
        needed, present = options.replicas * per_replica, cluster.get(resource, 0.0)
        if needed > present:
            raise ConfigError(f'serve --ray: {options.replicas} replicas x {per_replica:g} '
                              f'{resource} need {needed:g}, the Ray cluster has {present:g}')


def _deploy(serve: Any, source: PolicySource, options: RayOptions, app: str) -> Any:
    """Run the deployment as application ``app`` (no HTTP route); its handle.

    Raises:
        ConfigError: a replica failed to load the policy, or not all ran in time.
    """
    deployment = serve.deployment(
        PolicyReplica, name='policy', num_replicas=options.replicas, max_ongoing_requests=1,
        ray_actor_options={'num_cpus': options.num_cpus_per_replica,
                           'num_gpus': options.num_gpus_per_replica})
    serve.start(proxy_location='Disabled')
    outcome: list[Any] = []

    def _run() -> None:
        try:
            outcome.append(serve.run(deployment.bind(source), name=app, route_prefix=None))
        except Exception as err:  # reported below, as a ConfigError
            outcome.append(err)

    runner = threading.Thread(target=_run, name='ray_serve_deploy', daemon=True)
    runner.start()
    runner.join(timeout=options.deploy_timeout_s)
    if not outcome:
        raise ConfigError(f'serve --ray: the {options.replicas} replicas did not load the policy '
                          f'within {options.deploy_timeout_s:g} s (see the Ray log)')
    if isinstance(outcome[0], Exception):
        _LOG.error('Ray Serve deployment failed: %s', outcome[0])
        raise ConfigError(f'serve --ray: the replicas failed to load {str(source.checkpoint)!r}: '
                          f'{_failure_reason(serve, app, outcome[0])}') from outcome[0]
    return outcome[0]


def _failure_reason(serve: Any, app: str, err: Exception) -> str:
    """The replicas' own error (the last ``...Error: ...`` line Serve reports), else ``err``."""
    try:
        message = str(serve.status().applications[app].deployments['policy'].message)
    except (KeyError, AttributeError):  # the application never reached the controller
        message = ''
    errors = [line.strip() for line in message.splitlines() if 'Error: ' in line]
    lines = str(err).strip().splitlines() or [type(err).__name__]
    return (errors[-1] if errors else lines[-1])[:300]
