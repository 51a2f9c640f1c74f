# SPDX-License-Identifier: Apache-2.0
# Copyright 2026 The vla_ros authors
"""Full-size pi0 on one CUDA GPU: transformers' ``sample_actions`` against our ``FlowSampler``.

Random weights in the real configuration (PaliGemma: SigLIP So400m/14 at 224 px, Gemma 2B;
action expert Gemma 300M; chunk 50, 32 action dims), bfloat16, batch 1, three 224x224 cameras,
a 48-token prompt, 10 Euler steps. Variants, all on the same weights, inputs and noise:
transformers' ``sample_actions`` (eager, the reference), ours eager, ours replayed from a CUDA
graph, ours under ``torch.compile``, and ours compiled and replayed. Each variant warms up
(compiling or capturing) under its own time budget and a failure is recorded, not fatal; then
timed rounds call every ready variant once per round (interleaved, synchronised), and the
script prints p50/p95 latency, the ratio to the reference, peak memory, the largest difference
from the reference chunk, and a roofline estimate computed from the configuration: one JSON
blob, then a markdown table. It needs torch, transformers with PI0 (5.23, as the tests) and
this repository's ``vla_ros/policies/flow/sampler.py``, imported from the source tree.

On the H200 machine, from the repository root, about 4 to 5 minutes (``--deadline-s``, 300 by
default, bounds it). The machine's own transformers (5.17 when last listed) may lack PI0 or
differ from the tests' 5.23.0, so carry ``.whl`` (git-ignored; it holds the transformers
5.23.0 and regex wheels, for Python 3.12) and install them first::

    python3 -m pip install -q --no-index --no-deps --target /tmp/site \
        .whl/transformers-5.23.0-py3-none-any.whl .whl/regex-2026.11.15-*.whl && \
    PYTHONUNBUFFERED=1 PYTHONPATH=/tmp/site:$PWD python3 bench/gpu_flow_full_size.py \
        --json $OUT/gpu_flow_full_size.json

Progress goes to stderr; ``--variants 0 1 2`` reruns a subset (see ``--help``).

CPU smoke test of the script itself (tiny model, float32, about a minute)::

    source scripts/env.sh && python bench/gpu_flow_full_size.py --tiny
"""

from __future__ import annotations

import argparse
from collections.abc import Callable
import json
from pathlib import Path
import signal
import statistics
import sys
import time
from typing import Any

REPO_ROOT = Path(__file__).resolve().parent.parent
STARTED_S = time.monotonic()

try:
    import torch
except ImportError:
    sys.exit('missing: torch (with CUDA for the full-size run)')
try:
    import transformers
    from transformers import PI0Config, PI0ForConditionalGeneration
except ImportError as import_error:
    sys.exit(f'missing: transformers with PI0ForConditionalGeneration (tested with 5.23.0): '
             f'{import_error}; install the wheels in .whl as the docstring says')
sys.path.insert(0, str(REPO_ROOT))
from vla_ros.policies.flow.sampler import FlowSampler, SampleInputs  # noqa: E402

#: Name -> (our sampler's options or None for the reference, warm-up budget s, CUDA only).
#: The reference comes first; those that might leave the GPU in a bad state on failure last.
VARIANTS: dict[str, tuple[dict[str, bool] | None, float, bool]] = {
    'transformers sample_actions': (None, 60.0, False),
    'ours eager': ({}, 40.0, False),
    'ours + CUDA graph': ({'cuda_graph': True}, 60.0, True),
    'ours + torch.compile': ({'compile': True}, 150.0, False),
    'ours + compile + CUDA graph': ({'compile': True, 'cuda_graph': True}, 120.0, True),
}
REFERENCE = 'transformers sample_actions'
#: Timed rounds continue past the deadline until every variant has this many.
MIN_RUNS = 20


def pi0_config(tiny: bool) -> PI0Config:
    """pi0's configuration (openpi's pi0 and transformers' PI0Config defaults) or a tiny one."""
    heads = {'num_attention_heads': 8, 'num_key_value_heads': 1, 'head_dim': 256}
    text = {'model_type': 'gemma', 'hidden_size': 2048, 'num_hidden_layers': 18,
            'intermediate_size': 16384, 'vocab_size': 257152, **heads}
    vision = {'model_type': 'siglip_vision_model', 'hidden_size': 1152, 'intermediate_size': 4304,
              'num_hidden_layers': 27, 'num_attention_heads': 16, 'patch_size': 14,
              'image_size': 224, 'vision_use_head': False}
    expert = {'model_type': 'gemma', 'hidden_size': 1024, 'num_hidden_layers': 18,
              'intermediate_size': 4096, **heads}
    if tiny:
        heads = {'num_attention_heads': 4, 'num_key_value_heads': 1, 'head_dim': 16}
        text = {**text, 'hidden_size': 64, 'num_hidden_layers': 2, 'intermediate_size': 128,
                'vocab_size': 1024, **heads}
        vision = {**vision, 'hidden_size': 32, 'intermediate_size': 64, 'num_hidden_layers': 2,
                  'num_attention_heads': 2, 'patch_size': 8, 'image_size': 32}
        expert = {**expert, 'hidden_size': 32, 'num_hidden_layers': 2, 'intermediate_size': 64,
                  **heads}
    return PI0Config(
        vlm_config={'model_type': 'paligemma', 'text_config': text, 'vision_config': vision,
                    'projection_dim': text['hidden_size'], 'image_token_id': text['vocab_size']},
        dit_config=expert, chunk_size=50, max_state_dim=32, max_action_dim=32)


def make_inputs(config: PI0Config, *, cameras: int, prompt_tokens: int, device: torch.device,
                dtype: torch.dtype) -> SampleInputs:
    """Batch 1: image placeholders, BOS and a random prompt, random pixels, state and noise."""
    generator = torch.Generator().manual_seed(0)
    vision = config.vlm_config.vision_config
    image_tokens = cameras * (vision.image_size // vision.patch_size) ** 2
    text_ids = torch.randint(3, config.vlm_config.text_config.vocab_size - 1,
                             (1, prompt_tokens), generator=generator)
    text_ids[0, 0] = 2  # BOS
    input_ids = torch.cat([torch.full((1, image_tokens), config.vlm_config.image_token_id),
                           text_ids], dim=1)
    side = vision.image_size
    return SampleInputs(
        input_ids=input_ids.to(device), attention_mask=torch.ones_like(input_ids).to(device),
        pixel_values=(torch.rand(1, cameras, 3, side, side, generator=generator) * 2 - 1).to(
            device, dtype),
        pixel_attention_mask=torch.ones(1, cameras, dtype=torch.bool, device=device),
        state=torch.randn(1, config.max_state_dim, generator=generator).to(device, dtype),
        noise=torch.randn(1, config.chunk_size, config.max_action_dim, generator=generator).to(
            device, dtype))


def roofline(config: PI0Config, *, prefix_tokens: int, images: int, steps: int,
             bytes_per_value: int, peak_flops: float, peak_bytes_s: float) -> dict[str, Any]:
    """Matmul FLOPs and weight/cache bytes of one sample; each phase at max(compute, memory).

    Counted: SigLIP (patch embedding, attention projections, attention scores and mixing, MLP)
    for every image, the projector, the language model over the prefix (the last layer only
    its key and value projections, as ours), and per step the expert over 1 + chunk tokens
    attending to prefix + suffix, with the action and time projections. Bytes: every weight
    matrix read once per phase (the embedding table not, as only prompt rows are read) and the
    prefix cache written once and read per step. Not counted: norms, activations, softmax.
    """
    vision, text = config.vlm_config.vision_config, config.vlm_config.text_config
    expert = config.dit_config
    patch_tokens = (vision.image_size // vision.patch_size) ** 2
    vision_width, vision_mlp = vision.hidden_size, vision.intermediate_size
    vision_params = vision.num_hidden_layers * (4 * vision_width ** 2 + 2 * vision_width
                                                * vision_mlp)
    vision_params += 3 * vision.patch_size ** 2 * vision_width + vision_width * text.hidden_size
    vision_flops = images * (2 * patch_tokens * vision_params + vision.num_hidden_layers * 4
                             * patch_tokens ** 2 * vision_width)

    def layer_params(width: int, mlp: int) -> int:
        attention = width * text.num_attention_heads * text.head_dim * 2
        return attention + width * text.num_key_value_heads * text.head_dim * 2 + 3 * width * mlp

    kv_width = text.num_key_value_heads * text.head_dim
    attention_width = text.num_attention_heads * text.head_dim
    layers = text.num_hidden_layers
    text_params = (layers - 1) * layer_params(text.hidden_size, text.intermediate_size)
    text_params += 2 * text.hidden_size * kv_width
    text_flops = (2 * prefix_tokens * text_params
                  + (layers - 1) * 4 * prefix_tokens ** 2 * attention_width)
    cache_bytes = layers * 2 * (prefix_tokens + config.chunk_size + 1) * kv_width * bytes_per_value
    suffix = config.chunk_size + 1
    width = expert.hidden_size
    expert_params = layers * layer_params(width, expert.intermediate_size)
    head_params = (2 * config.max_action_dim + config.max_state_dim + 3 * width) * width
    step_flops = (2 * suffix * (expert_params + head_params)
                  + layers * 4 * suffix * (prefix_tokens + suffix) * attention_width)
    prefix_flops = vision_flops + text_flops
    prefix_bytes = (vision_params + text_params) * bytes_per_value + cache_bytes
    step_bytes = (expert_params + head_params) * bytes_per_value + cache_bytes
    prefix_s = max(prefix_flops / peak_flops, prefix_bytes / peak_bytes_s)
    step_s = max(step_flops / peak_flops, step_bytes / peak_bytes_s)
    return {
        'prefix_tokens': prefix_tokens, 'prefix_tflop': prefix_flops / 1e12,
        'prefix_gb': prefix_bytes / 1e9, 'prefix_ms': 1e3 * prefix_s,
        'step_gflop': step_flops / 1e9, 'step_gb': step_bytes / 1e9, 'step_ms': 1e3 * step_s,
        'steps': steps, 'total_ms': 1e3 * (prefix_s + steps * step_s),
        'peak_tflop_s': peak_flops / 1e12, 'peak_tb_s': peak_bytes_s / 1e12}


class VariantTimeout(BaseException):
    """A variant ran past its warm-up budget (a BaseException, so torch cannot swallow it)."""


def _on_alarm(signum: int, frame: object) -> None:
    raise VariantTimeout


def build_call(name: str, model: PI0ForConditionalGeneration, inputs: SampleInputs,
               steps: int) -> Callable[[], torch.Tensor]:
    """The variant's sampling call on the fixed inputs."""
    options = VARIANTS[name][0]
    if options is None:
        def reference() -> torch.Tensor:
            with torch.inference_mode():
                return model.sample_actions(
                    state=inputs.state, input_ids=inputs.input_ids,
                    pixel_values=inputs.pixel_values, noise=inputs.noise,
                    attention_mask=inputs.attention_mask,
                    pixel_attention_mask=inputs.pixel_attention_mask, num_steps=steps)
        return reference
    sampler = FlowSampler(model, **options)
    return lambda: sampler.sample(inputs, num_steps=steps)


def synchronized_ms(call: Callable[[], torch.Tensor], device: torch.device
                    ) -> tuple[float, torch.Tensor]:
    """Wall time of one call, the device synchronised before and after."""
    if device.type == 'cuda':
        torch.cuda.synchronize()
    started = time.perf_counter()
    chunk = call()
    if device.type == 'cuda':
        torch.cuda.synchronize()
    return 1e3 * (time.perf_counter() - started), chunk


def warm_up(name: str, model: PI0ForConditionalGeneration, inputs: SampleInputs, *,
            args: argparse.Namespace, device: torch.device) -> tuple[Callable[[], torch.Tensor],
                                                                     dict[str, Any],
                                                                     torch.Tensor]:
    """Build, compile or capture, and run a variant ``args.warmup`` times within its budget."""
    remaining_s = args.deadline_s - args.timing_reserve_s - (time.monotonic() - STARTED_S)
    budget_s = min(VARIANTS[name][1], remaining_s)
    if budget_s < 5.0:
        raise VariantTimeout
    if device.type == 'cuda':
        torch.cuda.reset_peak_memory_stats()
    base_bytes = torch.cuda.memory_allocated() if device.type == 'cuda' else 0
    started = time.monotonic()
    signal.setitimer(signal.ITIMER_REAL, budget_s)
    try:
        call = build_call(name, model, inputs, args.steps)
        first_ms, chunk = synchronized_ms(call, device)
        for _ in range(args.warmup - 1):
            synchronized_ms(call, device)
    finally:
        signal.setitimer(signal.ITIMER_REAL, 0.0)
    info: dict[str, Any] = {'status': 'ok', 'first_call_ms': first_ms,
                            'warmup_s': time.monotonic() - started}
    if device.type == 'cuda':
        info['working_mib'] = (torch.cuda.max_memory_allocated() - base_bytes) / 2 ** 20
    return call, info, chunk


def run(args: argparse.Namespace) -> dict[str, Any]:
    """Build the model, warm every variant up, time them interleaved; returns the report."""
    if not args.tiny and not torch.cuda.is_available():
        sys.exit('the full-size run needs CUDA; use --tiny for a CPU smoke test')
    device = torch.device('cuda' if torch.cuda.is_available() else 'cpu')
    dtype = torch.bfloat16 if device.type == 'cuda' else torch.float32
    torch.manual_seed(0)
    config = pi0_config(args.tiny)
    with torch.device(device):
        model = PI0ForConditionalGeneration._from_config(config, dtype=dtype)
    model.eval()
    weights_mib = sum(p.numel() * p.element_size() for p in model.parameters()) / 2 ** 20
    # Inference tensors, as the CUDA graphs' static inputs: the compiled variants then share
    # one compilation instead of recompiling on the tensors' dispatch keys.
    with torch.inference_mode():
        inputs = make_inputs(config, cameras=args.cameras, prompt_tokens=args.prompt_tokens,
                             device=device, dtype=dtype)
    report: dict[str, Any] = {
        'device': torch.cuda.get_device_name() if device.type == 'cuda' else 'cpu',
        'torch': torch.__version__, 'transformers': transformers.__version__,
        'dtype': str(dtype), 'tiny': args.tiny, 'cameras': args.cameras,
        'prefix_tokens': inputs.input_ids.shape[1], 'steps': args.steps,
        'chunk': config.chunk_size, 'parameters_m': sum(
            p.numel() for p in model.parameters()) / 1e6, 'weights_mib': weights_mib,
        'model_built_s': time.monotonic() - STARTED_S,
        'roofline': roofline(config, prefix_tokens=inputs.input_ids.shape[1],
                             images=args.cameras, steps=args.steps,
                             bytes_per_value=torch.finfo(dtype).bits // 8,
                             peak_flops=args.peak_tflops * 1e12,
                             peak_bytes_s=args.peak_tbps * 1e12),
        'variants': {}}
    print(f'built {report["parameters_m"]:.0f} M parameters in {report["model_built_s"]:.0f} s',
          file=sys.stderr, flush=True)
    signal.signal(signal.SIGALRM, _on_alarm)
    calls: dict[str, Callable[[], torch.Tensor]] = {}
    reference_chunk = None
    for index, (name, (_, _, cuda_only)) in enumerate(VARIANTS.items()):
        if cuda_only and device.type != 'cuda':
            report['variants'][name] = {'status': 'skipped: needs CUDA'}
            continue
        if index not in args.variants:
            report['variants'][name] = {'status': 'skipped: not in --variants'}
            continue
        try:
            call, info, chunk = warm_up(name, model, inputs, args=args, device=device)
        except VariantTimeout:
            info = {'status': 'failed: out of its time budget'}
        except Exception as err:  # recorded; the other variants still run
            info = {'status': f'failed: {type(err).__name__}: {str(err)[:300]}'}
        else:
            calls[name] = call
            if 'working_mib' in info:
                info['peak_mib'] = weights_mib + info['working_mib']
            reference_chunk = chunk if name == REFERENCE else reference_chunk
            if reference_chunk is not None:
                info['max_abs_diff'] = float((chunk.float() - reference_chunk.float()).abs().max())
        report['variants'][name] = info
        print(f'{name}: {info}', file=sys.stderr, flush=True)
    if reference_chunk is not None:
        report['reference_max_abs'] = float(reference_chunk.float().abs().max())
    samples: dict[str, list[float]] = {name: [] for name in calls}
    deadline_s = args.deadline_s - (time.monotonic() - STARTED_S)
    timing_started = time.monotonic()
    for _ in range(max(args.iterations, MIN_RUNS)):
        if time.monotonic() - timing_started > deadline_s and min(map(len, samples.values()),
                                                                  default=0) >= MIN_RUNS:
            break
        for name, call in calls.items():
            samples[name].append(synchronized_ms(call, device)[0])
    reference_p50 = statistics.median(samples[REFERENCE]) if samples.get(REFERENCE) else None
    for name, values in samples.items():
        ordered = sorted(values)
        p50 = statistics.median(ordered)
        report['variants'][name].update({
            'runs': len(values), 'p50_ms': p50,
            'p95_ms': ordered[min(len(ordered) - 1, round(0.95 * (len(ordered) - 1)))],
            'speedup_vs_reference': reference_p50 / p50 if reference_p50 else None})
    report['total_s'] = time.monotonic() - STARTED_S
    return report


def markdown(report: dict[str, Any]) -> str:
    """The report as a markdown table, with the roofline below it."""
    lines = [f'{report["device"]}, torch {report["torch"]}, transformers '
             f'{report["transformers"]}, {report["dtype"]}, {report["parameters_m"]:.0f} M '
             f'parameters, {report["cameras"]} cameras, {report["prefix_tokens"]} prefix tokens, '
             f'{report["steps"]} steps, chunk {report["chunk"]}', '',
             '| variant | p50 ms | p95 ms | x faster than transformers | peak MiB (weights + '
             'working) | max abs diff vs transformers | warm-up s |',
             '|---|---:|---:|---:|---:|---:|---:|']
    for name, info in report['variants'].items():
        if 'p50_ms' not in info:
            lines.append(f'| {name} | {info["status"]} | | | | | |')
            continue
        working = info.get('working_mib')
        peak = f'{report["weights_mib"] + working:.0f}' if working is not None else '-'
        difference = f'{info["max_abs_diff"]:.3g}' if 'max_abs_diff' in info else '-'
        lines.append(
            f'| {name} | {info["p50_ms"]:.2f} | {info["p95_ms"]:.2f} | '
            f'{info["speedup_vs_reference"]:.2f} | {peak} | {difference} | '
            f'{info["warmup_s"]:.1f} |')
    roof = report['roofline']
    lines += ['', f'Roofline at {roof["peak_tflop_s"]:.0f} TFLOP/s and {roof["peak_tb_s"]:.1f} '
              f'TB/s: prefix {roof["prefix_tflop"]:.2f} TFLOP, {roof["prefix_gb"]:.2f} GB -> '
              f'{roof["prefix_ms"]:.2f} ms; each step {roof["step_gflop"]:.1f} GFLOP, '
              f'{roof["step_gb"]:.3f} GB -> {roof["step_ms"]:.3f} ms; total '
              f'{roof["total_ms"]:.2f} ms for {roof["steps"]} steps.']
    return '\n'.join(lines)


def main() -> None:
    """Parse flags, run, print the JSON blob and the table (and write the JSON with --json)."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument('--tiny', action='store_true', help='tiny model (a CPU smoke test)')
    parser.add_argument('--iterations', type=int, default=30,
                        help=f'timed rounds (at least {MIN_RUNS} are run)')
    parser.add_argument('--warmup', type=int, default=3, help='untimed calls per variant')
    parser.add_argument('--steps', type=int, default=10, help='Euler steps')
    parser.add_argument('--cameras', type=int, default=3)
    parser.add_argument('--prompt-tokens', type=int, default=48)
    parser.add_argument('--deadline-s', type=float, default=300.0,
                        help='the whole run, model build included, ends by then')
    parser.add_argument('--timing-reserve-s', type=float, default=30.0,
                        help='kept free of warm-ups for the timed rounds')
    parser.add_argument('--peak-tflops', type=float, default=989.0, help='dense bf16 peak')
    parser.add_argument('--peak-tbps', type=float, default=4.8, help='memory bandwidth')
    parser.add_argument('--variants', type=int, nargs='+', default=list(range(len(VARIANTS))),
                        help='indices of the variants to run: ' + ', '.join(
                            f'{index} {name}' for index, name in enumerate(VARIANTS)))
    parser.add_argument('--json', type=Path, default=None)
    args = parser.parse_args()
    if transformers.__version__ != '5.23.0':
        print(f'warning: transformers {transformers.__version__}; the parity tests use 5.23.0',
              file=sys.stderr)
    if args.tiny:
        torch.set_num_threads(1)
    report = run(args)
    blob = json.dumps(report, indent=2)
    print(blob)
    print(markdown(report))
    if args.json:
        args.json.write_text(blob)


if __name__ == '__main__':
    main()
