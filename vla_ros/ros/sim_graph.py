# SPDX-License-Identifier: Apache-2.0
# Copyright 2026 The vla_ros authors
"""The simulated robot and the policy node in this process: `vla-ros eval`, `demo` and `sim`.

``sim_graph`` starts an ``InProcessGraph`` with the sim node (the config's ``sim`` section,
scene ``seed``), the policy node unless ``policy`` is None (the evaluation's expert mode), and
a plain client node for the caller's subscriptions and calls. The policy node runs on simulated
time (``use_sim_time``), the controllers' clock, so a loaded machine that slows the sim down
slows the chunks with it instead of desynchronising them. Closing the graph shuts the policy
node down first: it holds the arm and aborts a running goal while the sim still runs.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
import contextlib
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from rclpy.node import Node
from rclpy.parameter import Parameter

from vla_ros.core.config import ExecutionStrategy
from vla_ros.ros.in_process import (
    InProcessGraph,
    sigterm_as_interrupt,
    wait_until_interrupted,
)
from vla_ros.ros.nodes.policy_node import PolicyNode
from vla_ros.ros.nodes.sim_node import SimNode

__all__ = ['PolicyParameters', 'SimGraph', 'run_until_interrupted', 'sim_graph']


@dataclass(frozen=True, slots=True)
class PolicyParameters:
    """The policy node's overrides of the config (each None: the config's value).

    Attributes:
        checkpoint: ``policy.checkpoint``.
        family: ``policy.family``.
        strategy: ``execution.strategy``.
        horizon: ``execution.horizon``, chunk steps executed per inference.
    """

    checkpoint: Path | None = None
    family: str | None = None
    strategy: ExecutionStrategy | None = None
    horizon: int | None = None

    def overrides(self, config_path: Path) -> list[Parameter[Any]]:
        """The node's parameters: the config, simulated time, then each override that is set."""
        parameters: list[Parameter[Any]] = [
            Parameter('config_file', value=str(config_path)),
            Parameter('use_sim_time', value=True)]
        if self.checkpoint is not None:
            parameters.append(Parameter('policy.checkpoint', value=str(self.checkpoint)))
        if self.family:
            parameters.append(Parameter('policy.family', value=self.family))
        if self.strategy is not None:
            parameters.append(Parameter('execution.strategy', value=self.strategy.value))
        if self.horizon is not None:
            parameters.append(Parameter('execution.horizon', value=self.horizon))
        return parameters


@dataclass(frozen=True, slots=True)
class SimGraph:
    """The started graph: its nodes, spinning on the graph's executor.

    Attributes:
        graph: the in-process graph (its ``callback_errors`` list what raised).
        sim_node: the simulator; read ``sim_node.sim`` only under ``sim_node.lock``.
        client: a node for the caller's subscriptions, clients and publishers, or None.
    """

    graph: InProcessGraph
    sim_node: SimNode
    client: Node | None

    def sim_time_s(self) -> float:
        """The simulator's clock, seconds since its last reset."""
        with self.sim_node.lock:
            return self.sim_node.sim.time_s

    def sim_seed(self) -> int:
        """The seed of the scene the simulator shows now."""
        return self.sim_node.seed


@contextlib.contextmanager
def sim_graph(config_path: Path, *, seed: int | None, policy: PolicyParameters | None,
              client_name: str | None = None, domain_id: int | None = None
              ) -> Iterator[SimGraph]:
    """Start the sim node, the policy node (unless ``policy`` is None) and a client node.

    Args:
        config_path: the embodiment config both nodes load (``config_file``).
        seed: the sim's first scene seed; None takes the config's ``sim.seed``.
        policy: the policy node's overrides; None starts no policy node.
        client_name: the client node's name; None starts none.
        domain_id: the DDS domain of the graph (None: ``ROS_DOMAIN_ID``).
    """
    sim_parameters: list[Parameter[Any]] = [Parameter('config_file', value=str(config_path))]
    if seed is not None:
        sim_parameters.append(Parameter('seed', value=seed))
    with InProcessGraph(domain_id=domain_id) as graph:
        sim_node = graph.add(SimNode, parameter_overrides=sim_parameters)
        if policy is not None:
            graph.add(PolicyNode, parameter_overrides=policy.overrides(config_path))
        client = None if client_name is None else graph.add(Node, node_name=client_name)
        yield SimGraph(graph=graph, sim_node=sim_node, client=client)


def run_until_interrupted(config_path: Path, *, seed: int, with_policy: bool,
                          on_running: Callable[[], None]) -> None:
    """Run the sim node (and the policy node) until Ctrl-C or SIGTERM (`vla-ros sim`).

    Either signal closes the graph, which shuts the policy node down first: it holds the arm
    and aborts a running goal with a reason while the simulator still runs.
    """
    with sigterm_as_interrupt(), sim_graph(config_path, seed=seed,
                                           policy=PolicyParameters() if with_policy else None):
        on_running()
        try:
            wait_until_interrupted()
        except KeyboardInterrupt:
            pass
