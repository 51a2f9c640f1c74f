# SPDX-License-Identifier: Apache-2.0
# Copyright 2026 The vla_ros authors
"""Fixtures for node tests: a tiny checkpoint, a config file, and graphs of real nodes."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from pathlib import Path
import threading

from node_test_constants import fresh_domain_id, SIM_HOME, WAIT_S
import pytest
from rclpy.node import Node
from rclpy.parameter import Parameter
import yaml

from vla_ros.policies.flow.checkpoint import (
    create_random_checkpoint,
    DEFAULT_MOTION_STD,
    DEFAULT_SPEC,
)
from vla_ros.ros.in_process import InProcessGraph
from vla_ros.ros.nodes.policy_node import PolicyNode
from vla_ros.ros.nodes.sim_node import SimNode


@pytest.fixture(scope='session')
def checkpoint_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A random flow checkpoint whose actions stay near the sim's home pose."""
    return create_random_checkpoint(tmp_path_factory.mktemp('ckpt') / 'flow', DEFAULT_SPEC,
                                    seed=0, home_positions=SIM_HOME,
                                    motion_std=DEFAULT_MOTION_STD)


@pytest.fixture(scope='session')
def config_file(tmp_path_factory: pytest.TempPathFactory, repo_root: Path,
                checkpoint_dir: Path) -> Path:
    """The tabletop config with the random flow test checkpoint; horizon 3 so chunks come often."""
    raw = yaml.safe_load((repo_root / 'config' / 'tabletop_arm.yaml').read_text())
    raw['embodiment']['urdf'] = str(repo_root / 'urdf' / 'tabletop_arm.urdf')
    raw['sim']['mjcf'] = str(repo_root / 'urdf' / 'tabletop_scene.xml')
    raw['policy'].update(family='flow', checkpoint=str(checkpoint_dir))
    raw['execution']['horizon'] = 3
    path = tmp_path_factory.mktemp('config') / 'tabletop_arm.yaml'
    path.write_text(yaml.safe_dump(raw))
    return path


@pytest.fixture
def graph() -> Iterator[InProcessGraph]:
    """A private context on a DDS domain of this test alone, spinning; closed after the test.

    A callback that raised during the test fails it, with the traceback.
    """
    with InProcessGraph(domain_id=fresh_domain_id()) as in_process:
        yield in_process
    assert not in_process.callback_errors, '\n'.join(in_process.callback_errors)


@pytest.fixture
def start_nodes(graph: InProcessGraph, config_file: Path) -> Callable[..., Node]:
    """Start 'sim' and/or 'policy' nodes from the test config; returns a probe node.

    Keyword arguments become extra parameters of the policy node (dots as '__').
    """
    def start(*which: str, **policy_params: object) -> Node:
        param = [Parameter('config_file', value=str(config_file))]
        if 'sim' in which:
            graph.add(SimNode, parameter_overrides=param)
        if 'policy' in which:
            extra = [Parameter(name.replace('__', '.'), value=value)
                     for name, value in policy_params.items()]
            graph.add(PolicyNode, parameter_overrides=param + extra)
        return graph.add(Node, node_name='probe')
    return start


class Collector:
    """Keeps the messages of a subscription and lets a test wait for a condition on them."""

    def __init__(self) -> None:
        self.messages: list = []
        self._changed = threading.Condition()

    def __call__(self, msg: object) -> None:
        """Subscription callback: keep ``msg`` and wake waiters."""
        with self._changed:
            self.messages.append(msg)
            self._changed.notify_all()

    def wait_for(self, predicate: Callable[[list], bool], timeout_s: float = WAIT_S) -> list:
        """Block until ``predicate(messages)`` holds; fail the test after ``timeout_s``."""
        with self._changed:
            if not self._changed.wait_for(lambda: predicate(self.messages), timeout=timeout_s):
                pytest.fail(f'condition not met within {timeout_s} s; '
                            f'{len(self.messages)} messages received')
            return list(self.messages)


@pytest.fixture
def collect() -> type[Collector]:
    """The Collector class, for subscriptions a test makes on its probe node."""
    return Collector
