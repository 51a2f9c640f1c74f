# SPDX-License-Identifier: Apache-2.0
# Copyright 2026 The vla_ros authors
"""`vla-ros`: the command line of vla_ros, one module per verb.

Verbs never import rclpy or messages themselves: those that talk to ROS call functions of
``vla_ros.ros`` (imported only when they run, so `vla-ros --help` is instant) that answer with
plain values.
Expected errors print one line and return a non-zero exit code, without a traceback.
"""

from __future__ import annotations

import argparse
import importlib
import sys

from vla_ros.core.errors import VlaRosError

__all__ = ['main']

#: verb -> (module, one-line help). Each module has add_arguments(parser) and run(args) -> int.
VERBS: dict[str, tuple[str, str]] = {
    'sim': ('vla_ros.cli.sim', 'run the simulated robot and the policy node until Ctrl-C'),
    'instruct': ('vla_ros.cli.instruct', 'set the instruction (service vla/set_instruction)'),
    'execute': ('vla_ros.cli.execute', 'run an instruction as an action goal (vla/execute)'),
    'stop': ('vla_ros.cli.stop', 'hold now and refuse motion until resume (vla/stop)'),
    'resume': ('vla_ros.cli.stop', 'allow motion again after stop (vla/resume)'),
    'demo': ('vla_ros.cli.demo', 'end-to-end demo: sim + policy + an instruction, then a plot'),
    'demos': ('vla_ros.cli.demos', 'record scripted-expert demonstrations of a sim task'),
    'pointing': ('vla_ros.cli.pointing', 'render sim scenes labelled for pointing pre-training'),
    'eval': ('vla_ros.cli.eval', 'closed-loop success rate of a checkpoint on a sim task'),
    'record': ('vla_ros.cli.record', 'record topics into a rosbag2 bag (sqlite3 or mcap)'),
    'play': ('vla_ros.cli.play', 'publish a recorded bag again, with its timing'),
    'train': ('vla_ros.cli.train', 'train a policy on recorded demonstrations (CPU)'),
    'random-checkpoint': ('vla_ros.cli.random_checkpoint',
                          'write a small random-weight checkpoint of a policy family'),
    'eval-bag': ('vla_ros.cli.eval_bag', 'open-loop error of a policy on a recorded bag'),
    'export': ('vla_ros.cli.export', 'bags -> a LeRobotDataset v3.0 directory'),
    'import': ('vla_ros.cli.import_bag', 'a LeRobotDataset v3.0 directory -> a bag'),
    'inspect': ('vla_ros.cli.inspect', 'what a checkpoint folder is, and a config block for it'),
    'serve': ('vla_ros.cli.serve', 'serve a local policy over the openpi websocket protocol'),
}


def main(argv: list[str] | None = None) -> int:
    """Parse the command line and run the verb; returns the exit code."""
    parser = argparse.ArgumentParser(prog='vla-ros', description=__doc__.splitlines()[0])
    verbs = parser.add_subparsers(dest='verb', required=True, metavar='VERB')
    modules = {}
    for verb, (module_name, help_text) in VERBS.items():
        module = importlib.import_module(module_name)
        module.add_arguments(verbs.add_parser(verb, help=help_text, description=help_text))
        modules[verb] = module
    args = parser.parse_args(argv)
    try:
        return int(modules[args.verb].run(args))
    except VlaRosError as err:
        print(f'vla-ros {args.verb}: {err}', file=sys.stderr)
        return 1
    except TimeoutError as err:
        print(f'vla-ros {args.verb}: {err}', file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        return 130


if __name__ == '__main__':
    sys.exit(main())
