# SPDX-License-Identifier: Apache-2.0
# Copyright 2026 The vla_ros authors
"""`vla-ros sim`: the simulated bring-up (what launch/sim.launch.py starts on a ROS install)."""

from __future__ import annotations

import argparse

from vla_ros.cli.config_path import add_config_argument, default_config_path

__all__ = ['add_arguments', 'run']


def add_arguments(parser: argparse.ArgumentParser) -> None:
    """Declare the verb's options."""
    add_config_argument(parser)
    parser.add_argument('--seed', type=int, default=-1, help='object placement seed')
    parser.add_argument('--no-policy', action='store_true',
                        help='start only the simulated robot (bring your own policy node)')


def run(args: argparse.Namespace) -> int:
    """Start the sim and policy nodes in this process; run until Ctrl-C."""
    from rclpy.parameter import Parameter

    from vla_ros.ros.in_process import (
        InProcessGraph,
        sigterm_as_interrupt,
        wait_until_interrupted,
    )
    from vla_ros.ros.nodes.policy_node import PolicyNode
    from vla_ros.ros.nodes.sim_node import SimNode

    config = str(args.config or default_config_path())
    # Ctrl-C or SIGTERM closes the graph, which shuts the policy node down first: it holds the
    # arm and aborts a running goal with a reason while the simulator still runs.
    with sigterm_as_interrupt(), InProcessGraph() as graph:
        graph.add(SimNode, parameter_overrides=[Parameter('config_file', value=config),
                                                Parameter('seed', value=args.seed)])
        if not args.no_policy:
            graph.add(PolicyNode, parameter_overrides=[Parameter('config_file', value=config),
                                                       Parameter('use_sim_time', value=True)])
        print(f'vla-ros sim: running {config}; Ctrl-C to stop', flush=True)
        try:
            wait_until_interrupted()
        except KeyboardInterrupt:
            pass
    return 0
