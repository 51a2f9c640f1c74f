# SPDX-License-Identifier: Apache-2.0
# Copyright 2026 The vla_ros authors
"""The non-model part of one policy cycle, stage by stage, against the 2 ms budget (issue 16).

What the policy node does around the model for one chunk, on the flow policy's real code:
``sensor_msgs/Image`` bytes -> numpy (``image_from_msg``), letterbox to the model's size,
pixels, tokens and state into the model's tensors (``FlowProcessor.prepare``; state
normalisation also timed alone), the model's output -> unnormalised ``ActionChunk``
(``to_action_chunk``), ``plan_trajectory`` over the whole chunk and ``split_by_controller``,
and the ``JointTrajectory`` bytes the node publishes (``trajectory_wire``; rclpy's messages
are a reference row). The planner runs on two chunks: the random model's output, which the
limits clamp (the planner's loop runs), and a smooth one within them, as a trained policy's
mostly is (its vectorised prefix covers it). Stage calls alternate, so machine load hits
them alike; ``total`` runs the whole sequence as one call (``total, smooth chunk`` plans the
smooth chunk instead of the model's), ``image msgs -> model tensors`` its image part (decode,
letterbox, ``prepare``). Reports wall median and p95 per stage, the median of the thread's
CPU time, and the wall median's share of the 2 ms budget. Reference rows, same inputs:
``letterbox(..., exact=True)`` (float64, bit-identical to openpi's ``resize_with_pad``)
against the default float32 letterbox; ``letterbox`` then ``prepare`` (the image path
before the encoder letterboxed in torch); the planner's step loop alone (the planner before
its vectorised prefix, kept in ``test/execution/test_chunk_planner_prefix.py``); rclpy's
messages; transformers' ``PI0Processor`` on the letterboxed images (what ``prepare`` called
before ``InputEncoder``); the decode and letterbox code before issue 16 (kept in
``test/core/test_image_speedups_parity.py``; the decode on the message's own buffer, as
``image_from_msg``); and torch's uint8 resize, which the families used before OpenCV's
(``resize to planes`` is the same step with OpenCV, as ``prepare`` does it).

Scenarios: three 640x480 rgb8 cameras into a 224x224 model (chunk 50), and the tabletop arm's
two 64x64 cameras into its 64x64 model (chunk 10). Run from outside the repository, so the
installed ``vla_ros`` is imported:

    source scripts/env.sh && cd /tmp && python /work/main/bench/bench_pipeline.py --iterations 200
"""

from __future__ import annotations

import argparse
from collections.abc import Callable
import importlib
import json
from pathlib import Path
import statistics
import sys
import tempfile
import time
from typing import Any

import cv2
import numpy as np
import torch
import torch.nn.functional

from vla_ros.core.policy import PolicySpec
from vla_ros.core.types import ActionChunk, Observation
from vla_ros.execution.chunk_planner import plan_trajectory, split_by_controller
from vla_ros.execution.joint_limits import load_urdf_limits
from vla_ros.policies.flow.checkpoint import (
    create_random_checkpoint,
    DEFAULT_HOME_POSITIONS,
    DEFAULT_MOTION_STD,
)
from vla_ros.policies.flow.model import load
from vla_ros.ros.convert import image_from_msg, image_to_msg, trajectory_to_msg
from vla_ros.ros.trajectory_wire import trajectory_to_cdr

REPO_ROOT = Path(__file__).resolve().parent.parent
BUDGET_MS = 2.0
JOINTS = ('joint1', 'joint2', 'joint3', 'joint4', 'joint5', 'joint6', 'gripper_joint')
CONTROLLERS = {'arm_controller': JOINTS[:6], 'gripper_controller': JOINTS[6:]}
#: name -> (camera names, camera height, camera width, model side, chunk length)
SCENARIOS = {
    '3x 640x480 -> 224x224': (('front', 'wrist', 'side'), 480, 640, 224, 50),
    'tabletop 2x 64x64 -> 64x64': (('front', 'wrist'), 64, 64, 64, 10),
}


def _time_ms(calls: dict[str, Callable[[], object]], iterations: int
             ) -> dict[str, tuple[float, float, float]]:
    """Wall median and p95, and CPU (this thread's) median of each call, ms.

    Calls alternate so machine load hits them alike; on a shared machine the wall time also
    holds the time the thread waited for a core, the CPU time does not.
    """
    samples: dict[str, list[float]] = {name: [] for name in calls}
    cpu: dict[str, list[float]] = {name: [] for name in calls}
    for call in calls.values():
        call()  # warm-up
    for _ in range(iterations):
        for name, call in calls.items():
            started, started_cpu = time.perf_counter(), time.thread_time()
            call()
            samples[name].append(1e3 * (time.perf_counter() - started))
            cpu[name].append(1e3 * (time.thread_time() - started_cpu))
    return {name: (statistics.median(values), float(np.percentile(values, 95)),
                   statistics.median(cpu[name])) for name, values in samples.items()}


def _scenario_calls(name: str, folder: Path) -> dict[str, Callable[[], object]]:
    """The stage calls of one scenario, on a random flow checkpoint made for it."""
    cameras, height, width, side, chunk_length = SCENARIOS[name]
    spec = PolicySpec(joint_names=JOINTS, camera_names=cameras, image_height=side,
                      image_width=side, chunk_length=chunk_length, dt_s=0.1)
    checkpoint = create_random_checkpoint(folder / name.split()[0], spec, seed=0,
                                          home_positions=DEFAULT_HOME_POSITIONS,
                                          motion_std=DEFAULT_MOTION_STD)
    policy = load(checkpoint, 'cpu')
    processor = policy.processor
    rng = np.random.default_rng(0)
    stamp = image_to_msg(np.zeros((1, 1, 3), np.uint8), stamp=_zero_time(),
                         frame_id='').header.stamp
    messages = {camera: image_to_msg(rng.integers(0, 256, (height, width, 3), dtype=np.uint8),
                                     stamp=stamp, frame_id=camera) for camera in cameras}
    positions = np.array(DEFAULT_HOME_POSITIONS) + rng.normal(0.0, 0.05, len(JOINTS))
    limits = load_urdf_limits(REPO_ROOT / 'urdf' / 'tabletop_arm.urdf').subset(JOINTS)
    model_out = torch.from_numpy(rng.normal(0.0, 0.5, (1, policy.model.config.chunk_size,
                                                       policy.model.config.max_action_dim)
                                            ).astype(np.float32))

    def decode() -> dict[str, np.ndarray]:
        return {camera: image_from_msg(msg, where=camera) for camera, msg in messages.items()}

    images = decode()
    from vla_ros.core.images import letterbox
    boxed = {camera: letterbox(image, height=side, width=side) for camera, image in images.items()}
    observation = Observation(images=boxed, joint_names=JOINTS, joint_positions=positions,
                              instruction='touch the red cube')
    chunk = processor.to_action_chunk(model_out)

    def plan_and_split() -> object:
        planned = plan_trajectory(chunk, measured=positions, limits=limits, max_step_rad=0.2)
        return split_by_controller(planned.command, CONTROLLERS)

    parts = plan_and_split()
    assert isinstance(parts, dict)
    # A chunk within the limits, as a trained policy's mostly is: every joint moves from where
    # it is towards the middle of its range, at most 0.6 rad, along a smoothstep.
    ramp = np.linspace(0.0, 1.0, chunk_length + 1)[1:, np.newaxis]
    start = np.clip(positions, limits.lower, limits.upper)
    travel = np.clip((limits.lower + limits.upper) / 2 - start, -0.6, 0.6)
    smooth = ActionChunk(JOINTS, start + travel * ramp * ramp * (3.0 - 2.0 * ramp), 0.1)

    def plan_smooth() -> object:
        planned = plan_trajectory(smooth, measured=start, limits=limits, max_step_rad=0.2)
        return split_by_controller(planned.command, CONTROLLERS)

    for label, planned_chunk, measured in (('random model output', chunk, positions),
                                           ('smooth', smooth, start)):
        planned = plan_trajectory(planned_chunk, measured=measured, limits=limits,
                                  max_step_rad=0.2)
        print(f'{name}: the planner corrected {planned.corrections} values of the '
              f'{label} chunk', file=sys.stderr)
    loop_only = _test_module('execution', 'test_chunk_planner_prefix')._loop_only
    max_delta = np.minimum(limits.velocity * chunk.dt_s, 0.2)

    def msgs_to_tensors() -> object:
        return processor.prepare(Observation(
            images=decode(), joint_names=JOINTS, joint_positions=positions,
            instruction='touch the red cube'))

    def total(smooth_chunk: bool = False) -> object:
        decoded = decode()
        inputs = processor.prepare(Observation(
            images=decoded, joint_names=JOINTS, joint_positions=positions,
            instruction='touch the red cube'))
        del inputs
        output = processor.to_action_chunk(model_out)
        planned = plan_trajectory(smooth if smooth_chunk else output,
                                  measured=start if smooth_chunk else positions, limits=limits,
                                  max_step_rad=0.2)
        return [trajectory_to_cdr(part) for part in
                split_by_controller(planned.command, CONTROLLERS).values()]

    old = _test_module('core', 'test_image_speedups_parity')

    def reference_letterbox() -> object:
        return [old._reference_letterbox(image, side, side) for image in images.values()]

    def reference_decode() -> object:
        return [old._reference_decode('rgb8', height, width, width * 3, msg.data)
                for msg in messages.values()]

    def reference_hf() -> object:
        return processor.hf_processor(
            images=[[boxed[camera] for camera in cameras]], text='touch the red cube',
            input_data_format='channels_last', return_tensors='pt')

    from vla_ros.core.images import letterbox_geometry
    from vla_ros.policies.frames import resize_planes
    sizes = {camera: letterbox_geometry(image, height=side, width=side)[:2]
             for camera, image in images.items()}

    def torch_resize_planes() -> object:  # the families' resize before OpenCV's
        frames = [torch.from_numpy(image).permute(2, 0, 1).unsqueeze(0)
                  for image in images.values()]
        return [torch.nn.functional.interpolate(frame, size=sizes[camera], mode='bilinear',
                                                align_corners=False, antialias=False)[0]
                for frame, camera in zip(frames, images)]

    return {
        'image msg -> numpy': decode,
        'resize to planes (OpenCV)': lambda: [resize_planes(image, *sizes[camera])
                                              for camera, image in images.items()],
        'letterbox': lambda: [letterbox(image, height=side, width=side)
                              for image in images.values()],
        'letterbox exact=True (float64)': lambda: [
            letterbox(image, height=side, width=side, exact=True) for image in images.values()],
        'prepare (tensors, state)': lambda: processor.prepare(observation),
        'state normalisation': lambda: processor_state(policy, positions),
        'unnormalise (to_action_chunk)': lambda: processor.to_action_chunk(model_out),
        'plan_trajectory + split': plan_and_split,
        'plan_trajectory + split, smooth': plan_smooth,
        'JointTrajectory CDR bytes': lambda: [trajectory_to_cdr(part) for part in parts.values()],
        'image msgs -> model tensors': msgs_to_tensors,
        'total': total,
        'total, smooth chunk': lambda: total(smooth_chunk=True),
        'reference: letterbox + prepare': lambda: processor.prepare(Observation(
            images={camera: letterbox(image, height=side, width=side)
                    for camera, image in images.items()},
            joint_names=JOINTS, joint_positions=positions, instruction='touch the red cube')),
        'reference: planner loop only': lambda: loop_only(
            chunk.positions, positions, limits, max_delta, np.ones(len(chunk.positions))),
        'reference: planner loop, smooth': lambda: loop_only(
            smooth.positions, start, limits, max_delta, np.ones(len(smooth.positions))),
        'reference: rclpy messages': lambda: [trajectory_to_msg(part) for part in parts.values()],
        'reference: PI0Processor': reference_hf,
        'reference: earlier letterbox': reference_letterbox,
        'reference: earlier decode': reference_decode,
        'reference: torch uint8 resize': torch_resize_planes,
    }


def _test_module(folder: str, name: str) -> Any:
    """Code before issue 16, kept as the reference of a parity test in ``test/<folder>``."""
    sys.path.insert(0, str(REPO_ROOT / 'test' / folder))
    try:
        return importlib.import_module(name)
    finally:
        sys.path.pop(0)


def processor_state(policy: object, positions: np.ndarray) -> object:
    """The state normalisation ``prepare`` does (the checkpoint's statistics)."""
    config = policy.config  # type: ignore[attr-defined]
    return config.normalization.state.normalize(positions)


def _zero_time() -> object:
    from builtin_interfaces.msg import Time
    return Time()


def main() -> None:
    """Run every scenario and print one table each (and JSON with --json)."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument('--iterations', type=int, default=200)
    parser.add_argument('--json', type=Path, default=None)
    args = parser.parse_args()
    torch.set_num_threads(1)
    cv2.setNumThreads(1)  # as torch: the CPU column counts this thread only
    results: dict[str, dict[str, tuple[float, float, float]]] = {}
    with tempfile.TemporaryDirectory() as folder:
        for name in SCENARIOS:
            results[name] = _time_ms(_scenario_calls(name, Path(folder)), args.iterations)
    print(f'numpy {np.__version__}, torch {torch.__version__}, one torch thread, '
          f'{args.iterations} rounds, budget {BUDGET_MS} ms')
    for name, rows in results.items():
        exact_ratio = rows['letterbox exact=True (float64)'][2] / rows['letterbox'][2]
        print(f'\n{name} (letterbox: float32 {exact_ratio:.2f}x faster than exact, CPU p50)')
        print(f'{"stage":32s} {"p50 ms":>8s} {"p95 ms":>8s} {"CPU p50":>8s} {"x budget":>9s}')
        for stage, (median, p95, cpu_median) in rows.items():
            print(f'{stage:32s} {median:8.3f} {p95:8.3f} {cpu_median:8.3f} '
                  f'{median / BUDGET_MS:9.2f}')
    if args.json:
        args.json.write_text(json.dumps(results, indent=2))


if __name__ == '__main__':
    main()
