# SPDX-License-Identifier: Apache-2.0
# Copyright 2026 The vla_ros authors
"""Our flow sampler against transformers' ``sample_actions`` on the CPU, in one run.

Same weights, inputs and noise, 10 Euler steps, float32, batch 1, at two sizes:

- tiny: the test checkpoint's model (0.37 M parameters, 2 cameras at 64x64, chunk 10);
- mid: a 245 M-parameter pi0 (SigLIP 384 wide, 6 layers, 2 cameras at 112x112, 49 tokens each;
  Gemma 1024 wide, 12 layers, MLP 4096, 8 heads, 1 key/value head of 128; expert 512 wide,
  12 layers, MLP 2048), a 48-token prompt, chunk 50.

Variants: ``sample_actions`` (the reference), ``FlowSampler`` eager, and ``FlowSampler`` under
``torch.compile`` (tiny always; mid with ``--compile-mid``, which compiles for about three
minutes on two cores). Calls alternate, so machine load hits them alike; the table gives the
median and p95 and the ratio of the reference's median to each median. One torch thread.

    source scripts/env.sh && python bench/bench_flow_sampler.py
"""

from __future__ import annotations

import argparse
from collections.abc import Callable
import json
from pathlib import Path
import statistics
import time
from typing import Any

import numpy as np
import torch
from transformers import PI0Config, PI0ForConditionalGeneration

from vla_ros.policies.flow.checkpoint import build_model, DEFAULT_SPEC
from vla_ros.policies.flow.sampler import FlowSampler, SampleInputs

REFERENCE = 'sample_actions (reference)'


def tiny_model_and_inputs() -> tuple[PI0ForConditionalGeneration, SampleInputs]:
    """The test checkpoint's model, its processor's inputs for one observation."""
    model, hf_processor = build_model(DEFAULT_SPEC, seed=0)
    rng = np.random.default_rng(0)
    encoded = hf_processor(
        images=[[rng.integers(0, 256, (64, 64, 3), dtype=np.uint8)
                 for _ in DEFAULT_SPEC.camera_names]], text='touch the red cube')
    return model.eval(), _inputs(model.config, encoded['input_ids'],  # type: ignore[no-untyped-call]
                                 encoded['attention_mask'], encoded['pixel_values'])


def mid_model_and_inputs() -> tuple[PI0ForConditionalGeneration, SampleInputs]:
    """The 245 M-parameter model, two random 112x112 cameras and a random 48-token prompt."""
    heads = {'num_attention_heads': 8, 'num_key_value_heads': 1, 'head_dim': 128}
    text = {'model_type': 'gemma', 'hidden_size': 1024, 'num_hidden_layers': 12,
            'intermediate_size': 4096, 'vocab_size': 1024, **heads}
    vision = {'model_type': 'siglip_vision_model', 'hidden_size': 384, 'intermediate_size': 1536,
              'num_hidden_layers': 6, 'num_attention_heads': 6, 'patch_size': 16,
              'image_size': 112, 'vision_use_head': False}
    expert = {'model_type': 'gemma', 'hidden_size': 512, 'num_hidden_layers': 12,
              'intermediate_size': 2048, **heads}
    config = PI0Config(
        vlm_config={'model_type': 'paligemma', 'text_config': text, 'vision_config': vision,
                    'projection_dim': 1024, 'image_token_id': 1024},
        dit_config=expert, chunk_size=50)
    with torch.random.fork_rng(devices=[]):
        torch.manual_seed(0)
        model = PI0ForConditionalGeneration(config)
    generator = torch.Generator().manual_seed(0)
    input_ids = torch.cat([torch.full((1, 2 * 49), 1024),
                           torch.randint(3, 1000, (1, 48), generator=generator)], dim=1)
    return model.eval(), _inputs(  # type: ignore[no-untyped-call]
        config, input_ids, torch.ones_like(input_ids),
        torch.rand(1, 2, 3, 112, 112, generator=generator) * 2 - 1)


def _inputs(config: PI0Config, input_ids: torch.Tensor, attention_mask: torch.Tensor,
            pixel_values: torch.Tensor) -> SampleInputs:
    generator = torch.Generator().manual_seed(1)
    return SampleInputs(
        input_ids=input_ids, attention_mask=attention_mask, pixel_values=pixel_values,
        pixel_attention_mask=torch.ones(pixel_values.shape[:2], dtype=torch.bool),
        state=torch.randn(1, config.max_state_dim, generator=generator),
        noise=torch.randn(1, config.chunk_size, config.max_action_dim, generator=generator))


def measure(model: PI0ForConditionalGeneration, inputs: SampleInputs, *, compiled: bool,
            iterations: int) -> dict[str, dict[str, float]]:
    """p50/p95 ms, ratio to the reference and difference from its chunk, per variant."""
    def reference() -> torch.Tensor:
        with torch.inference_mode():
            return model.sample_actions(
                state=inputs.state, input_ids=inputs.input_ids,  # type: ignore[arg-type]
                pixel_values=inputs.pixel_values, noise=inputs.noise,
                attention_mask=inputs.attention_mask,
                pixel_attention_mask=inputs.pixel_attention_mask,  # type: ignore[arg-type]
                num_steps=10)

    variants: dict[str, FlowSampler] = {'FlowSampler eager': FlowSampler(model)}
    if compiled:
        variants['FlowSampler compiled'] = FlowSampler(model, compile=True)
    calls: dict[str, Callable[[], torch.Tensor]] = {REFERENCE: reference}
    calls.update({name: (lambda sampler=sampler: sampler.sample(inputs, num_steps=10))
                  for name, sampler in variants.items()})
    expected = reference()
    rows: dict[str, dict[str, float]] = {}
    for name, call in calls.items():
        started = time.perf_counter()
        chunk = call()  # warm-up; compiles the compiled variant
        rows[name] = {'warmup_s': time.perf_counter() - started,
                      'max_abs_diff': float((chunk - expected).abs().max())}
    samples: dict[str, list[float]] = {name: [] for name in calls}
    for _ in range(iterations):
        for name, call in calls.items():
            started = time.perf_counter()
            call()
            samples[name].append(1e3 * (time.perf_counter() - started))
    base = statistics.median(samples[REFERENCE])
    for name, values in samples.items():
        ordered = sorted(values)
        median = statistics.median(ordered)
        rows[name].update({
            'p50_ms': median, 'p95_ms': ordered[round(0.95 * (len(ordered) - 1))],
            'speedup': base / median})
    return rows


def main() -> None:
    """Run both sizes and print a table (and JSON with --json)."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument('--tiny-iterations', type=int, default=40)
    parser.add_argument('--mid-iterations', type=int, default=8)
    parser.add_argument('--compile-mid', action='store_true',
                        help='also time the compiled sampler at mid size (minutes to compile)')
    parser.add_argument('--json', type=Path, default=None)
    args = parser.parse_args()
    torch.set_num_threads(1)
    report: dict[str, Any] = {'torch': torch.__version__, 'threads': 1}
    for size, make, compiled, iterations in (
            ('tiny', tiny_model_and_inputs, True, args.tiny_iterations),
            ('mid', mid_model_and_inputs, args.compile_mid, args.mid_iterations)):
        model, inputs = make()
        parameters_m = sum(parameter.numel() for parameter in model.parameters()) / 1e6
        report[size] = {'parameters_m': parameters_m, 'iterations': iterations,
                        'rows': measure(model, inputs, compiled=compiled, iterations=iterations)}
    print(f'torch {torch.__version__}, 1 thread, float32, 10 steps')
    print(f'{"size":5s} {"variant":28s} {"p50 ms":>9s} {"p95 ms":>9s} {"x faster":>9s} '
          f'{"max diff":>9s} {"warm-up s":>9s}')
    for size in ('tiny', 'mid'):
        for name, row in report[size]['rows'].items():
            print(f'{size:5s} {name:28s} {row["p50_ms"]:9.2f} {row["p95_ms"]:9.2f} '
                  f'{row["speedup"]:9.2f} {row["max_abs_diff"]:9.1e} {row["warmup_s"]:9.1f}')
    if args.json:
        args.json.write_text(json.dumps(report, indent=2))


if __name__ == '__main__':
    main()
