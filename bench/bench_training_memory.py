# SPDX-License-Identifier: Apache-2.0
# Copyright 2026 The vla_ros authors
"""Resident memory of a flow training run's tensors, against the bytes they hold, in one run.

Builds the training tensors (``make_tensors``) of the recorded demonstrations in ``--data``
three times, each in a fresh process so that the resident set is that build's alone: as
`vla-ros train` builds them (8-bit images, free heap pages returned every 1024 samples), with
the heap never trimmed, and with every image kept as float32 as before (the pixel table
withheld). Reports the growth of the resident set over each build and the bytes of the tensors
themselves, so the ratios carry to other machines and datasets.

    source scripts/env.sh && cd /tmp && python /work/main/bench/bench_training_memory.py --data DIR
"""

from __future__ import annotations

import argparse
import json
from pathlib import Path
import subprocess
import sys

VARIANTS = ('as trained', 'heap never trimmed', 'float32 images')


def _resident_gb() -> float:
    status = Path('/proc/self/status').read_text()
    return int(status.split('VmRSS:')[1].split()[0]) / 1e6


def measure(data: Path, variant: str) -> dict[str, float]:
    """Build the tensors of ``data`` in this process the ``variant`` way; GB figures."""
    from vla_ros.core.training_samples import dataset_spec
    from vla_ros.policies.flow import training_data
    from vla_ros.policies.flow.checkpoint import build_model
    from vla_ros.policies.flow.config import FlowPolicyConfig
    from vla_ros.policies.flow.processor import FlowProcessor
    from vla_ros.sim.demonstrations import DemonstrationDataset

    dataset = DemonstrationDataset(data, chunk_length=10)
    spec = dataset_spec(dataset, dt_s=dataset.dt_s)
    config = FlowPolicyConfig(spec=spec,
                              normalization=training_data.dataset_normalization(dataset, spec))
    model, hf_processor = build_model(spec)
    processor = FlowProcessor(config, hf_processor, max_state_dim=model.config.max_state_dim,
                              max_action_dim=model.config.max_action_dim)
    if variant == 'heap never trimmed':
        training_data._return_free_memory = lambda: None
    if variant == 'float32 images':
        training_data.PixelCodec.of = staticmethod(lambda table: None)
    before = _resident_gb()
    tensors = training_data.make_tensors(dataset, processor, config,
                                         max_action_dim=model.config.max_action_dim)
    grown = _resident_gb() - before
    held = sum(tensor.nbytes for tensor in (
        tensors.input_ids, tensors.attention_mask, tensors.pixel_values,
        tensors.pixel_attention_mask, tensors.state, tensors.actions, tensors.loss_mask)) / 1e9
    return {'samples': float(len(tensors)), 'resident_growth_gb': grown, 'tensors_gb': held}


def main() -> None:
    """Measure each variant in its own process and print the table."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument('--data', type=Path, required=True,
                        help='a directory of recorded demonstrations (vla-ros demos)')
    parser.add_argument('--variant', choices=VARIANTS, help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.variant is not None:
        print(json.dumps(measure(args.data, args.variant)))
        return
    rows = {}
    for variant in VARIANTS:
        done = subprocess.run([sys.executable, __file__, '--data', str(args.data),
                               '--variant', variant], capture_output=True, text=True,
                              check=True)
        rows[variant] = json.loads(done.stdout.strip().splitlines()[-1])
    reference = rows['float32 images']['resident_growth_gb']
    print(f'{int(rows["as trained"]["samples"])} samples from {args.data}')
    print('| build | tensors GB | resident growth GB | x less than float32 images |')
    print('|---|---:|---:|---:|')
    for variant, row in rows.items():
        print(f'| {variant} | {row["tensors_gb"]:.2f} | {row["resident_growth_gb"]:.2f} | '
              f'{reference / row["resident_growth_gb"]:.1f} |')


if __name__ == '__main__':
    main()
