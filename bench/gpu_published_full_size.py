# SPDX-License-Identifier: Apache-2.0
# Copyright 2026 The vla_ros authors
"""A full-size LeRobot pi0 folder in the published layout, through our loader, on one CUDA GPU.

Stages, each under its own time budget inside ``--deadline-s``, each failure recorded (a later
stage that needs it is skipped), progress on stderr:

1. write: a LeRobot pi0 folder at ``lerobot/pi0_base``'s size (``published_pi0_folder.py``:
   3.5 B parameters, random bf16 weights made on the GPU and saved under LeRobot's names, the
   real ``config.json`` keys, processor JSON and normalizer statistics for a 14-joint bimanual
   arm) and a PaliGemma-style tokenizer of 257152 tokens, into a temporary folder;
2. layout check: this writer's tiny folder against the test helper's miniature
   (``test/policies/lerobot_pi0_folder.py``): tensor names, shapes and dtypes, config keys,
   pipeline steps (the two copies of the layout must agree);
3. load: ``vla_ros.policies.registry.load_policy('flow', folder, device='cuda', settings=...)``
   with a ``PolicyConfig`` as the YAML loader makes it (dtype bfloat16, tokenizer, inputs and
   outputs mapping three cameras and 14 joints): seconds, GPU memory, host peak RSS;
4. first infer: one ``FlowPolicy.infer`` on three 640x480 cameras (letterboxed to 224x224 by
   our processor), which captures the CUDA graph (the default sampler on CUDA);
5. infer: p50/p95 of ``FlowPolicy.infer`` (preprocessing, sampler, unnormalisation), at least
   20 synchronised calls, and the GPU's working memory;
6. preprocessing: ``processor.prepare`` alone, with the copy to the GPU, and
   ``to_action_chunk`` (copy back, unnormalise) alone;
7. pi05: not run yet; one 'skipped: ...' line says why: no ``pi05`` family registered, no
   pi05 writer at full size (``test/policies/lerobot_pi05_folder.py`` writes the miniature
   only), or both exist but no stage calls the writer yet (``pi05_status``).

Output: one JSON blob on stdout, then markdown tables (``--json``: also a file, rewritten after
each stage). Needs torch, transformers with PI0 (5.23, as the tests), safetensors, tokenizers,
pillow, numpy, pyyaml, ``vla_ros.core`` and ``vla_ros.policies`` from the source tree (the
report lists any rclpy, MuJoCo or Pinocchio module loaded: there should be none) and the two
modules beside this script, ``published_pi0_folder.py`` and ``budgeted_stages.py``.

On the H200 machine, from the repository root, carrying ``.whl`` (git-ignored: the
transformers 5.23.0 and regex wheels for Python 3.12), in at most 5 minutes (``--deadline-s``
270 for the stages, ``timeout`` for a call stuck in C code; the run tool's ``timeout_s`` 330)::

    python3 -m pip install -q --no-index --no-deps --target /tmp/site \
        .whl/transformers-5.23.0-py3-none-any.whl .whl/regex-2026.11.15-*.whl && \
    set -o pipefail && PYTHONUNBUFFERED=1 PYTHONPATH=/tmp/site:$PWD timeout -k 10 285 \
        python3 bench/gpu_published_full_size.py --json $OUT/gpu_published_full_size.json \
        2>&1 | tee $OUT/gpu_published_full_size.log

CPU smoke test of the script itself (tiny sizes, float32, under a minute)::

    source scripts/env.sh && python bench/gpu_published_full_size.py --tiny
"""

from __future__ import annotations

import argparse
import ast
from collections.abc import Callable
import json
from pathlib import Path
import shutil
import sys
import tempfile
import time
from typing import Any, TYPE_CHECKING

STARTED_S = time.monotonic()
REPO_ROOT = Path(__file__).resolve().parent.parent

try:
    import numpy as np
    import torch
    import transformers
except ImportError as import_error:
    sys.exit(f'missing: {import_error.name}; see the docstring for the wheels to install')
sys.path.insert(0, str(REPO_ROOT))
from budgeted_stages import gpu_mib, Stages, synchronize, timed_ms  # noqa: E402
from published_pi0_folder import (  # noqa: E402  (next to this script)
    compare_with_miniature,
    FULL_SIZE,
    IMAGE_KEYS,
    motion_means,
    MOTION_STD,
    TINY,
    write_paligemma_style_tokenizer,
    write_pi0_folder,
)

from vla_ros.core.config import PolicyConfig  # noqa: E402
from vla_ros.core.policy_mapping import ModelDtype, parse_inputs, parse_outputs  # noqa: E402
from vla_ros.core.types import Observation  # noqa: E402
from vla_ros.policies.registry import FAMILIES, load_policy  # noqa: E402

if TYPE_CHECKING:
    from vla_ros.policies.flow.model import FlowPolicy

#: ALOHA's joints, left arm then right: the 14-joint bimanual mapping of the written folder.
JOINTS = tuple(f'{side}_{joint}' for side in ('left', 'right') for joint in (
    'waist', 'shoulder', 'elbow', 'forearm_roll', 'wrist_angle', 'wrist_rotate', 'gripper'))
CAMERAS = ('cam_high', 'cam_left_wrist', 'cam_right_wrist')
DT_S = 0.02
INSTRUCTION = 'fold the towel and put it in the basket'
CAMERA_HEIGHT, CAMERA_WIDTH = 480, 640
#: Timed loops run at least this many calls, past their soft time if need be.
MIN_RUNS = 20
#: Stage -> time budget, s (each also bounded by what is left of --deadline-s).
BUDGETS_S = {'write': 100.0, 'layout check': 30.0, 'load': 150.0, 'first infer': 60.0,
             'infer': 60.0, 'preprocessing': 40.0}
#: Modules this script must not load (the GPU machine has none of them).
FORBIDDEN = ('rclpy', 'mujoco', 'pinocchio', 'vla_ros.ros', 'vla_ros.msg', 'vla_ros.srv',
             'vla_ros.action', 'vla_ros.sim', 'vla_ros.cli')


def policy_settings(family: str, folder: Path, tokenizer: Path, *, device: torch.device,
                    dtype: ModelDtype) -> PolicyConfig:
    """The ``policy`` section the YAML loader would make, mapping cameras and 14 joints."""
    cameras = dict(zip(IMAGE_KEYS, CAMERAS, strict=True))
    return PolicyConfig(
        family=family, checkpoint=folder, device=str(device), dtype=dtype, tokenizer=tokenizer,
        inputs=parse_inputs({'cameras': cameras, 'state': list(JOINTS)}, joints=JOINTS,
                            cameras=CAMERAS),
        outputs=parse_outputs({'joints': list(JOINTS), 'dt_s': DT_S}, joints=JOINTS))


def observation() -> Observation:
    """Three random 640x480 cameras, the joints at the statistics' means, an instruction."""
    rng = np.random.default_rng(0)
    images = {camera: rng.integers(0, 256, (CAMERA_HEIGHT, CAMERA_WIDTH, 3), dtype=np.uint8)
              for camera in CAMERAS}
    return Observation(images=images, joint_names=JOINTS,
                       joint_positions=motion_means(len(JOINTS)).astype(np.float64),
                       instruction=INSTRUCTION)


def write_stage(root: Path, *, tiny: bool, device: torch.device, dtype: torch.dtype
                ) -> tuple[tuple[Path, Path], dict[str, Any]]:
    """Write the tokenizer and the pi0 folder; frees the model made for its weights."""
    sizes = TINY if tiny else FULL_SIZE
    started = time.monotonic()
    vocab_size = write_paligemma_style_tokenizer(root / 'tokenizer', vocab_size=sizes.vocab_size)
    tokenizer_s = time.monotonic() - started
    info = write_pi0_folder(root / 'pi0', sizes, device=device, dtype=dtype)
    folder_mib = sum(path.stat().st_size for path in (root / 'pi0').iterdir()) / 2 ** 20
    details = {'tokenizer_tokens': vocab_size, 'tokenizer_s': tokenizer_s, **info,
               'folder_mib': folder_mib, **gpu_mib(device)}
    if device.type == 'cuda':
        torch.cuda.empty_cache()
        details['gpu_allocated_after_free_mib'] = torch.cuda.memory_allocated() / 2 ** 20
    return (root / 'pi0', root / 'tokenizer'), details


def layout_check_stage(root: Path) -> tuple[None, dict[str, Any]]:
    """This writer's tiny folder against the test helper's miniature (they must agree)."""
    compared, differences = compare_with_miniature(root, REPO_ROOT / 'test' / 'policies')
    if differences:
        raise ValueError(f'{len(differences)} differences from the test miniature: '
                         f'{differences[:6]}')
    return None, {'tensors_compared': compared}


def load_stage(settings: PolicyConfig, device: torch.device
               ) -> tuple[FlowPolicy, dict[str, Any]]:
    """Load through the registry, as the node does; GPU memory is the weights plus the load."""
    if device.type == 'cuda':
        torch.cuda.reset_peak_memory_stats()
    assert settings.checkpoint is not None
    policy = load_policy(settings.family, settings.checkpoint, device=settings.device,
                         settings=settings)
    synchronize(device)
    parameters = list(policy.model.parameters())
    return policy, {
        'policy_class': type(policy).__name__, 'parameters_m': sum(
            p.numel() for p in parameters) / 1e6,
        'weight_dtypes': sorted({str(p.dtype) for p in parameters}),
        'cameras': list(policy.spec.camera_names), 'joints': len(policy.spec.joint_names),
        'image_px': policy.spec.image_height, 'chunk': policy.spec.chunk_length,
        **gpu_mib(device)}


def first_infer_stage(policy: FlowPolicy, device: torch.device) -> tuple[None, dict[str, Any]]:
    """One chunk: the first call captures the CUDA graph; checks the chunk is a chunk."""
    if device.type == 'cuda':
        torch.cuda.reset_peak_memory_stats()
    started = time.perf_counter()
    chunk = policy.infer(observation())
    synchronize(device)
    first_ms = 1e3 * (time.perf_counter() - started)
    positions = np.asarray(chunk.positions)
    deviation = np.abs(positions - motion_means(len(JOINTS))) / MOTION_STD
    if positions.shape != (policy.spec.chunk_length, len(JOINTS)) or not np.all(
            np.isfinite(positions)) or chunk.joint_names != JOINTS:
        raise ValueError(f'chunk of shape {positions.shape} for {chunk.joint_names!r}')
    return None, {'first_call_ms': first_ms, 'chunk_shape': list(positions.shape),
                  'max_deviation_in_stds': float(deviation.max()), **gpu_mib(device)}


def _timed(call: Callable[[], Any], device: torch.device, args: argparse.Namespace, *,
           share: float = 1.0) -> tuple[dict[str, Any], Any]:
    """``timed_ms`` with the flags' iterations and ``share`` of their soft time."""
    return timed_ms(call, device, min_runs=MIN_RUNS, soft_s=share * args.soft_s,
                    iterations=args.iterations)


def infer_stage(policy: FlowPolicy, device: torch.device, args: argparse.Namespace,
                weights_mib: float | None) -> tuple[None, dict[str, Any]]:
    """p50/p95 of the whole policy call; the GPU working memory beyond the weights."""
    frame = observation()
    stats, _ = _timed(lambda: policy.infer(frame), device, args)
    details = {**stats, **gpu_mib(device)}
    if weights_mib is not None and 'gpu_peak_mib' in details:
        details['gpu_working_mib'] = details['gpu_peak_mib'] - weights_mib
    return None, details


def preprocessing_stage(policy: FlowPolicy, device: torch.device, args: argparse.Namespace
                        ) -> tuple[None, dict[str, Any]]:
    """The policy call's ends alone: prepare, prepare + copy to the GPU, to_action_chunk."""
    frame = observation()
    processor = policy.processor
    dtype = next(policy.model.parameters()).dtype
    prepare, inputs = _timed(lambda: processor.prepare(frame), torch.device('cpu'), args,
                             share=1 / 3)
    to_device, _ = _timed(lambda: processor.prepare(frame).to(device, dtype), device, args,
                          share=1 / 3)
    config = policy.model.config
    actions = torch.randn(1, config.chunk_size, config.max_action_dim).to(device, dtype)
    postprocess, _ = _timed(lambda: processor.to_action_chunk(actions), device, args,
                            share=1 / 3)
    return None, {'prepare': prepare, 'prepare_to_device': to_device,
                  'to_action_chunk': postprocess,
                  'prefix_tokens': int(inputs.input_ids.shape[1]),
                  'pixel_values_shape': list(inputs.pixel_values.shape)}


def bench_folder(stages: Stages, label: str, family: str, paths: tuple[Path, Path], *,
                 device: torch.device, args: argparse.Namespace) -> None:
    """Load, infer once, time infer and the preprocessing, for one written folder."""
    model_dtype = ModelDtype.FLOAT32 if args.tiny else ModelDtype.BFLOAT16
    settings = policy_settings(family, *paths, device=device, dtype=model_dtype)
    policy = stages.run(f'{label} load', 'load', lambda: load_stage(settings, device),
                        needs=(f'{label} write',))
    weights_mib = stages.results[f'{label} load'].get('gpu_allocated_mib')
    stages.run(f'{label} first infer', 'first infer', lambda: first_infer_stage(policy, device),
               needs=(f'{label} load',))
    stages.run(f'{label} infer', 'infer',
               lambda: infer_stage(policy, device, args, weights_mib),
               needs=(f'{label} first infer',))
    stages.run(f'{label} preprocessing', 'preprocessing',
               lambda: preprocessing_stage(policy, device, args), needs=(f'{label} load',))
    policy = None  # frees the weights before the next folder loads
    if device.type == 'cuda':
        torch.cuda.empty_cache()


def pi05_writers() -> dict[str, list[str]]:
    """Every ``write_pi05_folder`` in bench/, test/ and tools/: file -> its parameter names."""
    writers = {}
    for pattern in ('bench/*.py', 'test/**/*.py', 'tools/**/*.py'):
        for path in sorted(REPO_ROOT.glob(pattern)):
            try:
                tree = ast.parse(path.read_text())
            except (OSError, SyntaxError, UnicodeDecodeError):
                continue
            for node in ast.walk(tree):
                if isinstance(node, ast.FunctionDef) and node.name == 'write_pi05_folder':
                    arguments = node.args.posonlyargs + node.args.args + node.args.kwonlyargs
                    writers[str(path.relative_to(REPO_ROOT))] = [arg.arg for arg in arguments]
    return writers


def pi05_status() -> str:
    """Why the pi05 stages did not run: no registered family, no full-size writer, or both.

    A full-size writer takes the sizes as this script's pi0 writer does (a ``sizes``
    parameter); a writer fixed at the test miniature's sizes does not count.
    """
    registered = 'pi05' in FAMILIES
    writers = pi05_writers()
    sized = [path for path, parameters in writers.items() if 'sizes' in parameters]
    if not writers:
        return f'skipped: no pi05 writer (pi05 family registered: {registered})'
    if not sized:
        listed = '; '.join(f'{path}: write_pi05_folder({", ".join(parameters)})'
                           for path, parameters in writers.items())
        return (f'skipped: no pi05 writer at full size ({listed} writes the test miniature '
                f'only, its sizes fixed); pi05 family registered: {registered}')
    return (f'skipped: {sized} write pi05 at full size (pi05 family registered: {registered}), '
            'but no stage calls it yet: add one in run() as for pi0, then bench_folder()')


def run(args: argparse.Namespace, root: Path) -> dict[str, Any]:
    """Every stage in order; returns the report."""
    if not args.tiny and not torch.cuda.is_available():
        sys.exit('the full-size run needs CUDA; use --tiny for a CPU smoke test')
    device = torch.device('cpu' if args.tiny else 'cuda')
    dtype = torch.float32 if args.tiny else torch.bfloat16
    import vla_ros

    report: dict[str, Any] = {
        'device': 'cpu' if args.tiny else torch.cuda.get_device_name(),
        'torch': torch.__version__, 'transformers': transformers.__version__,
        'python': sys.version.split()[0], 'vla_ros_from': str(Path(vla_ros.__file__).parent),
        'tiny': args.tiny, 'dtype': str(dtype), 'cameras': f'3 x {CAMERA_WIDTH}x{CAMERA_HEIGHT}',
        'joints': len(JOINTS), 'instruction': INSTRUCTION,
        'imports_s': time.monotonic() - STARTED_S}
    stages = Stages(BUDGETS_S, started_s=STARTED_S, deadline_s=args.deadline_s,
                    reserve_s=args.reserve_s, progress_path=args.json)
    paths = stages.run('pi0 write', 'write',
                       lambda: write_stage(root, tiny=args.tiny, device=device, dtype=dtype))
    stages.run('layout check', 'layout check', lambda: layout_check_stage(root / 'check'))
    # The loading stages are skipped, naming 'pi0 write', when the folder was not written.
    bench_folder(stages, 'pi0', 'flow', paths or (root / 'pi0', root / 'tokenizer'),
                 device=device, args=args)
    infer, ends = stages.results['pi0 infer'], stages.results['pi0 preprocessing']
    if 'p50_ms' in infer and 'prepare_to_device' in ends:
        # Medians subtracted: roughly the sampler's share (with the noise draw and the lock).
        report['infer_minus_ends_p50_ms'] = (infer['p50_ms'] - ends['prepare_to_device']['p50_ms']
                                             - ends['to_action_chunk']['p50_ms'])
    report['pi05'] = pi05_status()
    print(f'pi05: {report["pi05"]}', file=sys.stderr, flush=True)
    report['stages'] = stages.results
    report['forbidden_modules_loaded'] = sorted(
        name for name in sys.modules if name.startswith(FORBIDDEN))
    report['total_s'] = time.monotonic() - STARTED_S
    return report


def markdown(report: dict[str, Any]) -> str:
    """The stages and the latencies as markdown tables."""
    stages = report['stages']
    lines = [f'{report["device"]}, torch {report["torch"]}, transformers '
             f'{report["transformers"]}, {report["dtype"]}, {report["cameras"]} cameras, '
             f'{report["joints"]} joints; {report["total_s"]:.0f} s in all', '',
             '| stage | status | s | GPU MiB now / peak | host max RSS MiB |',
             '|---|---|---:|---:|---:|']
    for name, result in stages.items():
        gpu = (f'{result["gpu_allocated_mib"]:.0f} / {result["gpu_peak_mib"]:.0f}'
               if 'gpu_peak_mib' in result else '-')
        seconds = f'{result["seconds"]:.1f}' if 'seconds' in result else '-'
        lines.append(f'| {name} | {result["status"]} | {seconds} | {gpu} | '
                     f'{result["host_max_rss_mib"]:.0f} |')
    lines += ['', '| what (pi0) | p50 ms | p95 ms | runs |', '|---|---:|---:|---:|']
    preprocessing = stages.get('pi0 preprocessing', {})
    for what, stats in (
            ('FlowPolicy.infer (whole call)', stages.get('pi0 infer', {})),
            ('processor.prepare (letterbox, tokenise)', preprocessing.get('prepare', {})),
            ('prepare + copy to the device', preprocessing.get('prepare_to_device', {})),
            ('to_action_chunk (to host, unnormalise)', preprocessing.get('to_action_chunk', {}))):
        if 'p50_ms' in stats:
            lines.append(f'| {what} | {stats["p50_ms"]:.2f} | {stats["p95_ms"]:.2f} | '
                         f'{stats["runs"]} |')
        else:
            lines.append(f'| {what} | not measured | | |')
    if 'prefix_tokens' in preprocessing:
        lines += ['', f'Prefix: {preprocessing["prefix_tokens"]} tokens; pixel values '
                  f'{preprocessing["pixel_values_shape"]}.']
    if 'infer_minus_ends_p50_ms' in report:
        lines.append(f'infer p50 minus the p50s of its ends (the sampler, roughly): '
                     f'{report["infer_minus_ends_p50_ms"]:.2f} ms.')
    lines += ['', f'pi05: {report["pi05"]}']
    return '\n'.join(lines)


def main() -> None:
    """Parse flags, run, print the JSON blob and the tables (and write the JSON with --json)."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument('--tiny', action='store_true', help='tiny sizes on the CPU, float32')
    parser.add_argument('--iterations', type=int, default=40,
                        help=f'most timed calls per loop (at least {MIN_RUNS} are run)')
    parser.add_argument('--soft-s', type=float, default=10.0,
                        help='a timed loop stops adding calls after this, once it has '
                        f'{MIN_RUNS}')
    parser.add_argument('--deadline-s', type=float, default=270.0,
                        help='every stage ends by then, counted from the start')
    parser.add_argument('--reserve-s', type=float, default=10.0,
                        help='kept free of stages at the end, for the report and clean-up')
    parser.add_argument('--workdir', type=Path, default=None,
                        help='where the folders are written (default: a temporary folder)')
    parser.add_argument('--keep', action='store_true', help='keep the written folders')
    parser.add_argument('--json', type=Path, default=None)
    args = parser.parse_args()
    if transformers.__version__ != '5.23.0':
        print(f'warning: transformers {transformers.__version__}; the tests use 5.23.0',
              file=sys.stderr)
    if args.tiny:
        torch.set_num_threads(1)
    root = Path(tempfile.mkdtemp(prefix='published_pi0_', dir=args.workdir))
    try:
        report = run(args, root)
    finally:
        if not args.keep:
            shutil.rmtree(root, ignore_errors=True)
    report['workdir'] = str(root) if args.keep else None
    blob = json.dumps(report, indent=2)
    print(blob)
    print(markdown(report))
    if args.json:
        args.json.write_text(blob)


if __name__ == '__main__':
    main()
