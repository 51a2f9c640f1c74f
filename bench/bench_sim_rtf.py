# SPDX-License-Identifier: Apache-2.0
# Copyright 2026 The vla_ros authors
"""Where the wall time of `vla-ros sim` goes, and the real-time factor it keeps (issue 16 item 4).

Two parts, on the default single-arm config (``config/tabletop_arm.yaml``):

1. Cost per simulated second of each piece of the sim node's loop, measured alone with the
   node's own calls: physics (``MujocoSim.step`` at the publish period), rendering (each camera
   at its rate), messages (``/clock``, the joint state and the images built and published on
   a real DDS publisher with one subscriber in the process). Their sum over one second is the
   least CPU the simulator needs to keep real time on one core.
2. The graph `vla-ros sim` runs (SimNode and PolicyNode in one process, one executor thread)
   with an instruction running, for ``--seconds`` of wall time: the real-time factor
   (simulated over wall seconds) and a sampling profile: every 5 ms the stack of every thread
   is read and its innermost known frame names the category (physics, rendering, publishing,
   inference, preprocessing, planning, rclpy callbacks, waiting, ...). A thread that holds the
   GIL inside C code delays the sampler, so C-heavy categories are under-counted a little;
   the sampler itself costs about 1 % here. ``--no-policy`` runs the sim node alone.

    source scripts/env.sh && cd /tmp && python /work/main/bench/bench_sim_rtf.py --seconds 30

``--config A.yaml --config B.yaml`` measures both in one run, alternating, and prints the
ratios (e.g. the scene with another shadow map size against the default).
"""

from __future__ import annotations

import argparse
from collections import Counter
import json
from pathlib import Path
import sys
import threading
import time
from types import FrameType

import numpy as np

REPO_ROOT = Path(__file__).resolve().parent.parent
CONFIG = REPO_ROOT / 'config' / 'tabletop_arm.yaml'
SAMPLE_PERIOD_S = 0.005
#: (file name ending, function) -> category; the innermost match on a thread's stack wins.
CATEGORIES = (
    (('mujoco_sim.py', 'step'), 'sim: physics (mj_step)'),
    (('mujoco_sim.py', 'render'), 'sim: rendering'),
    (('convert.py', 'image_to_msg'), 'sim: image message build'),
    (('sim_node.py', '_publish_cameras'), 'sim: image publish (DDS)'),
    (('sim_node.py', '_publish_state'), 'sim: clock + joint state publish (DDS)'),
    (('trajectory_follower.py', 'sample'), 'sim: trajectory following'),
    (('sim_node.py', '_loop'), 'sim: loop bookkeeping'),
    (('threading.py', 'wait'), 'waiting (paced / idle)'),
    (('sampler.py', 'sample'), 'policy: inference (sampler)'),
    (('processor.py', 'prepare'), 'policy: preprocessing'),
    (('processor.py', 'to_action_chunk'), 'policy: unnormalisation'),
    (('chunk_planner.py', 'plan_trajectory'), 'policy: planning'),
    (('convert.py', 'image_from_msg'), 'policy: image decode'),
    (('policy_node.py', ''), 'policy node: callbacks'),
    (('runner.py', ''), 'policy: runner'),
    (('executors.py', '_wait_for_ready_callbacks'), 'executor: waiting for work'),
    (('executors.py', ''), 'executor: dispatch'),
    (('rclpy', ''), 'rclpy: other'),
)


def _category(frame: FrameType | None) -> str:
    while frame is not None:
        code = frame.f_code
        for (file_end, function), name in CATEGORIES:
            if code.co_filename.endswith(file_end) or (
                    file_end == 'rclpy' and '/rclpy/' in code.co_filename):
                if not function or code.co_name == function:
                    return name
        frame = frame.f_back
    return 'other'


class StackSampler:
    """Samples every thread's innermost known frame every ``SAMPLE_PERIOD_S`` (a daemon thread)."""

    def __init__(self) -> None:
        self.counts: Counter[tuple[str, str]] = Counter()
        self.samples = 0
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, name='stack_sampler', daemon=True)

    def __enter__(self) -> StackSampler:
        self._thread.start()
        return self

    def __exit__(self, *exc_info: object) -> None:
        self._stop.set()
        self._thread.join()

    def _run(self) -> None:
        me = threading.get_ident()
        names = {}
        while not self._stop.wait(SAMPLE_PERIOD_S):
            names.update({thread.ident: thread.name for thread in threading.enumerate()})
            for ident, frame in sys._current_frames().items():
                if ident != me:
                    self.counts[(names.get(ident, str(ident)), _category(frame))] += 1
            self.samples += 1


def _median_ms(call: object, repeats: int) -> float:
    samples = []
    for _ in range(repeats):
        started = time.perf_counter()
        call()  # type: ignore[operator]
        samples.append(1e3 * (time.perf_counter() - started))
    return float(np.median(samples))


def cost_per_simulated_second(config_path: Path) -> dict[str, float]:
    """Wall time, ms, that each piece of the sim loop costs per simulated second, alone."""
    import rclpy
    from rclpy.node import Node
    from rosgraph_msgs.msg import Clock
    from sensor_msgs.msg import Image, JointState

    from vla_ros.core.config import load_config
    from vla_ros.ros.convert import image_to_msg, joint_state_to_msg
    from vla_ros.sim.mujoco_sim import MujocoSim

    config = load_config(config_path)
    assert config.sim is not None
    period_s = 1.0 / config.sim.publish_rate_hz
    costs = {}
    with MujocoSim(config.sim, seed=0) as sim:
        costs['physics: step(period) x rate'] = _median_ms(
            lambda: sim.step(period_s), 200) * config.sim.publish_rate_hz
        for camera in config.embodiment.cameras:
            rate_hz = next(c.rate_hz for c in config.sim.cameras if c.name == camera.name)
            costs[f'rendering: {camera.name} {camera.width}x{camera.height} x {rate_hz:g} Hz'] = (
                _median_ms(lambda c=camera: sim.render(c.name, c.width, c.height), 50) * rate_hz)
        image = sim.render(config.embodiment.cameras[0].name, 64, 64)
        rclpy.init()
        try:
            node = Node('bench_sim_messages')
            clock_pub = node.create_publisher(Clock, '/clock', 10)
            state_pub = node.create_publisher(JointState, 'joint_states', 10)
            image_pub = node.create_publisher(Image, 'camera/image_raw', 10)
            for msg_type, topic in ((Clock, '/clock'), (JointState, 'joint_states'),
                                    (Image, 'camera/image_raw')):
                node.create_subscription(msg_type, topic, lambda _msg: None, 10)
            names = sim.joint_names
            stamp = rclpy.time.Time(nanoseconds=1).to_msg()

            def publish_state() -> None:
                clock_pub.publish(Clock(clock=stamp))
                state_pub.publish(joint_state_to_msg(names, sim.joint_positions(),
                                                     sim.joint_velocities(), stamp=stamp))

            costs['DDS: /clock + joint state x rate'] = _median_ms(
                publish_state, 200) * config.sim.publish_rate_hz
            frames_per_s = sum(c.rate_hz for c in config.sim.cameras)
            costs[f'DDS: image build + publish x {frames_per_s:g}/s'] = _median_ms(
                lambda: image_pub.publish(image_to_msg(image, stamp=stamp, frame_id='f')),
                100) * frames_per_s
            node.destroy_node()
        finally:
            rclpy.shutdown()
    return costs


def run_graph(seconds: float, *, policy: bool, config_path: Path) -> dict[str, object]:
    """Run the `vla-ros sim` graph for ``seconds`` of wall time; RTF and sampled profile."""
    from rclpy.node import Node
    from rclpy.parameter import Parameter

    from vla_ros.ros.clients import set_instruction
    from vla_ros.ros.in_process import InProcessGraph
    from vla_ros.ros.nodes.policy_node import PolicyNode
    from vla_ros.ros.nodes.sim_node import SimNode

    config = Parameter('config_file', value=str(config_path))
    with InProcessGraph() as graph:
        sim_node = graph.add(SimNode, parameter_overrides=[config, Parameter('seed', value=0)])
        if policy:
            graph.add(PolicyNode, parameter_overrides=[config,
                                                       Parameter('use_sim_time', value=True)])
            client = graph.add(Node, node_name='bench_client')
            accepted = set_instruction(client, 'touch the red cube')
            assert accepted, 'instruction refused'
        time.sleep(2.0)  # past start-up
        with sim_node.lock:
            sim_start_s = sim_node.sim.time_s
        wall_start_s, cpu_start_s = time.monotonic(), time.process_time()
        with StackSampler() as sampler:
            time.sleep(seconds)
        wall_s, cpu_s = time.monotonic() - wall_start_s, time.process_time() - cpu_start_s
        with sim_node.lock:
            simulated_s = sim_node.sim.time_s - sim_start_s
    shares: dict[str, dict[str, float]] = {}
    for (thread, category), count in sampler.counts.most_common():
        shares.setdefault(thread, {})[category] = round(100.0 * count / sampler.samples, 1)
    return {'policy': policy, 'wall_s': round(wall_s, 2), 'simulated_s': round(simulated_s, 2),
            'real_time_factor': round(simulated_s / wall_s, 3),
            'process_cpu_s': round(cpu_s, 2), 'samples': sampler.samples,
            'percent_of_wall_by_thread': shares}


def _print_costs(config_path: Path, costs: dict[str, float]) -> None:
    print(f'{config_path}: cost per simulated second, each piece alone (ms of wall time):')
    for name, value in costs.items():
        print(f'  {name:48s} {value:8.1f}')
    print(f'  {"total":48s} {sum(costs.values()):8.1f}')


def _print_run(config_path: Path, result: dict[str, object]) -> None:
    print(f"\n{config_path}: graph {'sim + policy node' if result['policy'] else 'sim node alone'}"
          f": real-time factor {result['real_time_factor']} ({result['simulated_s']} s "
          f"simulated in {result['wall_s']} s wall, process CPU {result['process_cpu_s']} s)")
    shares = result['percent_of_wall_by_thread']
    assert isinstance(shares, dict)
    for thread, categories in shares.items():
        print(f'  thread {thread}:')
        for category, percent in categories.items():
            if percent >= 0.5:
                print(f'    {category:44s} {percent:5.1f} % of wall time')


def main() -> None:
    """Measure, print and (with --json) write the results.

    With several ``--config`` files the measurements alternate between them (costs, then each
    graph run config after config), so machine load hits them alike, and a summary gives each
    one's total cost and real-time factors as ratios to the first.
    """
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument('--seconds', type=float, default=30.0)
    parser.add_argument('--no-policy', action='store_true')
    parser.add_argument('--config', type=Path, action='append', default=None,
                        help=f'embodiment YAML with a sim section (repeatable; default {CONFIG})')
    parser.add_argument('--json', type=Path, default=None)
    args = parser.parse_args()
    configs: list[Path] = args.config or [CONFIG]
    costs = {path: cost_per_simulated_second(path) for path in configs}
    for path in configs:
        _print_costs(path, costs[path])
    runs: dict[Path, list[dict[str, object]]] = {path: [] for path in configs}
    for policy in ([False] if args.no_policy else [False, True]):
        for path in configs:
            runs[path].append(run_graph(args.seconds, policy=policy, config_path=path))
            _print_run(path, runs[path][-1])
    if len(configs) > 1:
        print('\nsummary (ratios to the first config, measured in this run):')
        first_total = sum(costs[configs[0]].values())
        first_rtf = [float(str(r['real_time_factor'])) for r in runs[configs[0]]]
        for path in configs:
            total = sum(costs[path].values())
            rtfs = [float(str(r['real_time_factor'])) for r in runs[path]]
            ratios = ', '.join(f'RTF {rtf:.2f} ({rtf / ref:.2f}x)'
                               for rtf, ref in zip(rtfs, first_rtf, strict=True))
            print(f'  {path}: {total:.1f} ms per simulated s '
                  f'({first_total / total:.2f}x cheaper); {ratios}')
    if args.json:
        args.json.write_text(json.dumps(
            {str(path): {'costs_ms_per_sim_s': costs[path], 'runs': runs[path]}
             for path in configs}, indent=2))


if __name__ == '__main__':
    main()
