# SPDX-License-Identifier: Apache-2.0
# Copyright 2026 The vla_ros authors
"""Inference latency of the flow policy against the bare model call, in one run.

Reference: ``PI0ForConditionalGeneration.sample_actions`` on already prepared tensors.
Measured: ``FlowPolicy.infer`` (observation checks, image and state preprocessing, sampling,
unnormalisation) and the chunk -> limited trajectory step that follows it in the node.
Reports medians and the ratio to the reference, so numbers from different machines compare.

    source scripts/env.sh && python bench/bench_flow_inference.py --iterations 50
"""

from __future__ import annotations

import argparse
from collections.abc import Callable
import json
from pathlib import Path
import statistics
import tempfile
import time

import numpy as np
import torch

from vla_ros.core.types import Observation
from vla_ros.execution.chunk_planner import plan_trajectory
from vla_ros.execution.joint_limits import load_urdf_limits
from vla_ros.policies.flow.checkpoint import (
    create_random_checkpoint,
    DEFAULT_HOME_POSITIONS,
    DEFAULT_MOTION_STD,
    DEFAULT_SPEC,
)
from vla_ros.policies.flow.model import load

REPO_ROOT = Path(__file__).resolve().parent.parent


def _median_ms(calls: dict[str, Callable[[], object]], iterations: int) -> dict[str, float]:
    """Median time of each call; calls alternate so machine load hits them alike."""
    samples: dict[str, list[float]] = {name: [] for name in calls}
    for call in calls.values():
        call()  # warm-up
    for _ in range(iterations):
        for name, call in calls.items():
            started = time.perf_counter()
            call()
            samples[name].append(1e3 * (time.perf_counter() - started))
    return {name: statistics.median(values) for name, values in samples.items()}


def main() -> None:
    """Run the benchmark and print a table (and JSON with --json)."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument('--iterations', type=int, default=30)
    parser.add_argument('--json', type=Path, default=None)
    args = parser.parse_args()
    rng = np.random.default_rng(0)
    observation = Observation(
        images={name: rng.integers(0, 256, (64, 64, 3), dtype=np.uint8)
                for name in DEFAULT_SPEC.camera_names},
        joint_names=DEFAULT_SPEC.joint_names,
        joint_positions=np.array(DEFAULT_HOME_POSITIONS), instruction='touch the red cube')
    with tempfile.TemporaryDirectory() as folder:
        checkpoint = create_random_checkpoint(Path(folder) / 'flow', DEFAULT_SPEC, seed=0,
                                              home_positions=DEFAULT_HOME_POSITIONS,
                                              motion_std=DEFAULT_MOTION_STD)
        policy = load(checkpoint, 'cpu')
    inputs = policy.processor.prepare(observation)
    noise = torch.zeros(1, policy.model.config.chunk_size, policy.model.config.max_action_dim)
    limits = load_urdf_limits(REPO_ROOT / 'urdf' / 'tabletop_arm.urdf').subset(
        DEFAULT_SPEC.joint_names)
    chunk = policy.infer(observation)

    def reference() -> None:
        with torch.inference_mode():
            policy.model.sample_actions(
                state=inputs.state, pixel_values=inputs.pixel_values, input_ids=inputs.input_ids,
                pixel_attention_mask=inputs.pixel_attention_mask, noise=noise,
                attention_mask=inputs.attention_mask,
                num_steps=policy.config.num_denoising_steps)

    rows = _median_ms({
        'sample_actions (reference)': reference,
        'FlowPolicy.infer': lambda: policy.infer(observation),
        'plan_trajectory': lambda: plan_trajectory(
            chunk, measured=observation.joint_positions, limits=limits, max_step_rad=0.2,
            horizon=5),
    }, args.iterations)
    base = rows['sample_actions (reference)']
    print(f'torch {torch.__version__}, threads {torch.get_num_threads()}, '
          f'{args.iterations} iterations, medians')
    print(f'{"step":32s} {"ms":>9s} {"x reference":>12s}')
    for name, value in rows.items():
        print(f'{name:32s} {value:9.2f} {value / base:12.2f}')
    if args.json:
        args.json.write_text(json.dumps({'median_ms': rows, 'reference': 'sample_actions'},
                                        indent=2))


if __name__ == '__main__':
    main()
