# SPDX-License-Identifier: Apache-2.0
# Copyright 2026 The vla_ros authors
"""Reference outputs of LeRobot's own pi0 on the miniature folder (the pi0 parity fixture).

Writes ``test/fixtures/pi0_reference.npz``.

This runs in the same throwaway environment as ``tools/make_pi05_fixture.py`` (its docstring
has every pin: LeRobot 0.4.4, transformers 4.53.2 patched with openpi's
``transformers_replace`` at commit 15a9616, torch 2.14.1; 2 CPU cores, no GPU), never in the
project's ``.venv``. With that environment set up, the command that made the committed
fixture is::

    /tmp/refenv/bin/python tools/make_pi0_fixture.py --out test/fixtures/pi0_reference.npz

The miniature folder itself is written by ``test/policies/lerobot_pi0_folder.py``, which builds
the weights with transformers' ``PI0ForConditionalGeneration`` (transformers 5, which the
reference environment cannot have): the script runs itself once under the project's Python
(``--project-python``, default ``.venv/bin/python``; transformers 5.23, torch 2.13 made the
committed folder) with ``--write-folder``, seed 0, and stores the SHA-256 of the folder's
``model.safetensors`` in the fixture, so the test knows it compares the very same weights. The
small tokenizer is ``lerobot_pi0_folder.write_paligemma_style_tokenizer``'s, written here.

What runs is LeRobot 0.4.4's code: ``PI0Policy`` (``modeling_pi0.py``: prefix with images and
``sqrt(width)``-scaled language embeddings, prefix KV cache, the state token and the
action/time MLP, the Euler loop), its weight-key fixing and ``load_state_dict``, its
``_preprocess_images`` (absent cameras as masked -1 images) and the processor pipelines read
from the folder's own ``policy_preprocessor.json`` / ``policy_postprocessor.json`` (newline
step, tokenizer step padding to 48, MEAN_STD normalisation). Changed, and only in sizes or
inputs, as for pi0.5: LeRobot builds the two Gemmas from named variants (``dummy`` is added:
openpi's width 64, 4 layers) and hard-codes the vocabulary (257152) and the So400m vision tower
with a 2048-wide projector; those are set here to the miniature's (the small tokenizer's
vocabulary, one 72-wide SigLIP layer, a projector to 64). LeRobot 0.4.4's ``PI0Config`` predates
three keys the folder's ``config.json`` carries (``use_relative_actions: false``,
``relative_exclude_joints``, ``action_feature_names: null``, none of which changes inference
at these values); the parsed copy leaves them out, after checking those values. PaliGemma's
tokenizer prepends ``<bos>`` (``add_bos_token``), the miniature's does not by itself, so the
reference's copy of it is given that template (``<bos> $A``), as the real one behaves.
LeRobot refuses a folder whose tensors it does not all take, so this also checks the
miniature's tensor names.

The fixture holds, per case: the raw inputs (uint8 images of the present cameras, the state in
robot units, the task), the noise, LeRobot's prompt, tokens and mask, its normalised chunk
(chunk_size x max_action_dim) and the unnormalised action chunk; plus the weights' SHA-256, the
seed and the versions used (reference and folder writer).
"""

from __future__ import annotations

import argparse
import hashlib
import importlib.util
import json
from pathlib import Path
import subprocess
import sys
import tempfile
from typing import Any

import numpy as np

REPO_ROOT = Path(__file__).resolve().parents[1]
SEED = 0
TASKS = ('touch the red cube', 'pick_up the blue\ncube')
#: Keys of newer LeRobot pi0 configs that 0.4.4's PI0Config lacks, at their inert values.
NEWER_KEYS = {'use_relative_actions': False, 'relative_exclude_joints': ['gripper'],
              'action_feature_names': None}


def _helper(name: str) -> Any:
    path = REPO_ROOT / 'test' / 'policies' / f'{name}.py'
    spec = importlib.util.spec_from_file_location(name, path)
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    sys.modules[name] = module
    spec.loader.exec_module(module)
    return module


def _write_folder(folder: Path, vocab_size: int) -> None:
    """``--write-folder`` mode, under the project's Python: the miniature, then the versions."""
    import torch
    import transformers

    _helper('lerobot_pi0_folder').write_pi0_folder(folder, vocab_size=vocab_size, seed=SEED)
    print(f'transformers {transformers.__version__}; torch {torch.__version__}')


def _folder_from_project(python: Path, folder: Path, vocab_size: int) -> str:
    """Run ``--write-folder`` under ``python``; returns the writer's versions."""
    result = subprocess.run(
        [str(python), __file__, '--write-folder', str(folder), '--vocab-size', str(vocab_size)],
        check=True, capture_output=True, text=True)
    return result.stdout.strip().splitlines()[-1]


def _parsed_config(folder: Path) -> Any:
    """LeRobot's PI0Config from the folder's config.json (see the module doc for the copy)."""
    from lerobot.configs.policies import PreTrainedConfig

    raw = json.loads((folder / 'config.json').read_text())
    for key, inert in NEWER_KEYS.items():
        if raw.pop(key, inert) != inert:
            raise SystemExit(f'config.json: {key} is not {inert!r}; LeRobot 0.4.4 lacks it')
    variants = (raw['paligemma_variant'], raw['action_expert_variant'])
    # PI0Config accepts only gemma_2b / gemma_300m: parse naming those, then set the folder's.
    copy = folder.parent / 'config_for_parsing'
    copy.mkdir(exist_ok=True)
    (copy / 'config.json').write_text(json.dumps(
        {**raw, 'paligemma_variant': 'gemma_2b', 'action_expert_variant': 'gemma_300m'}))
    config = PreTrainedConfig.from_pretrained(copy)
    config.paligemma_variant, config.action_expert_variant = variants
    return config


def _reference_policy(folder: Path, vocab_size: int) -> Any:
    """LeRobot's PI0Policy at the miniature's sizes, loaded from ``folder`` (see module doc)."""
    import lerobot.policies.pi0.modeling_pi0 as modeling
    from safetensors.torch import load_file

    real_variant, real_vlm, real_expert = (modeling.get_gemma_config,
                                           modeling.PaliGemmaForConditionalGeneration,
                                           modeling.GemmaForCausalLM)

    def variant(name: str) -> Any:
        if name == 'dummy':  # openpi gemma.py's 'dummy'
            return modeling.GemmaConfig(width=64, depth=4, mlp_dim=128, num_heads=8,
                                        num_kv_heads=1, head_dim=16)
        return real_variant(name)

    def vlm(config: Any) -> Any:
        vision = config.vision_config
        vision.hidden_size, vision.num_hidden_layers = 72, 1
        vision.num_attention_heads, vision.intermediate_size = 1, 144
        vision.projection_dim = config.text_config.hidden_size
        config.text_config.vocab_size = config._vocab_size = vocab_size
        config.image_token_index = vocab_size
        return real_vlm(config=config)

    def expert(config: Any) -> Any:
        config.vocab_size = vocab_size
        return real_expert(config=config)

    config = _parsed_config(folder)
    modeling.get_gemma_config, modeling.PaliGemmaForConditionalGeneration = variant, vlm
    modeling.GemmaForCausalLM = expert
    try:
        policy = modeling.PI0Policy(config)
    finally:
        modeling.get_gemma_config, modeling.PaliGemmaForConditionalGeneration = (
            real_variant, real_vlm)
        modeling.GemmaForCausalLM = real_expert
    stored = load_file(str(folder / 'model.safetensors'))
    # LeRobot's own loading steps (PI0Policy.from_pretrained), checked rather than logged.
    fixed = policy._fix_pytorch_state_dict_keys(stored, policy.config)
    result = policy.load_state_dict(fixed, strict=False)
    tied = 'model.paligemma_with_expert.paligemma.model.language_model.embed_tokens.weight'
    if result.unexpected_keys or set(result.missing_keys) != {tied} or len(fixed) != len(stored):
        raise SystemExit(f'the miniature does not match LeRobot: {result}')
    policy.eval()
    return policy


def _tokenizer_with_bos(tokenizer_dir: Path) -> Any:
    """The miniature tokenizer, prepending ``<bos>`` as PaliGemma's does (see module doc)."""
    from tokenizers import processors
    from transformers import AutoTokenizer

    tokenizer = AutoTokenizer.from_pretrained(tokenizer_dir)
    tokenizer.backend_tokenizer.post_processor = processors.TemplateProcessing(
        single='<bos> $A', special_tokens=[('<bos>', tokenizer.bos_token_id)])
    return tokenizer


def _pipelines(folder: Path, tokenizer_dir: Path) -> tuple[Any, Any]:
    from lerobot.processor import PolicyProcessorPipeline
    from lerobot.processor.converters import (
        policy_action_to_transition,
        transition_to_policy_action,
    )

    pre = PolicyProcessorPipeline.from_pretrained(
        folder, 'policy_preprocessor.json',
        overrides={'tokenizer_processor': {'tokenizer': _tokenizer_with_bos(tokenizer_dir)}})
    post = PolicyProcessorPipeline.from_pretrained(
        folder, 'policy_postprocessor.json', to_transition=policy_action_to_transition,
        to_output=transition_to_policy_action)
    return pre, post


def _case(index: int, policy: Any, pre: Any, post: Any, writers: Any) -> dict[str, np.ndarray]:
    import torch

    rng = np.random.default_rng(SEED + 100 + index)
    images = rng.integers(0, 256, (2, writers.IMAGE_PX, writers.IMAGE_PX, 3), dtype=np.uint8)
    offsets = rng.uniform(-1.0, 1.0, writers.STATE_DIM)
    if index == 0:  # within one standard deviation of the mean
        offsets_rad = writers.MOTION_STD * offsets
    else:  # 7.5 to 30 standard deviations out, some past the folder's min/max (mean -/+ 1)
        offsets_rad = 1.5 * np.sign(offsets) * (0.25 + 0.75 * np.abs(offsets))
    state = (np.asarray(writers.STATE_MEAN) + offsets_rad).astype(np.float32)
    noise = torch.from_numpy(rng.standard_normal(
        (1, writers.CHUNK_SIZE, policy.config.max_action_dim)).astype(np.float32))
    batch: dict[str, Any] = {key: torch.from_numpy(image).permute(2, 0, 1).float() / 255.0
             for key, image in zip(writers.IMAGE_KEYS[:2], images)}  # right wrist: absent
    batch.update({'observation.state': torch.from_numpy(state), 'task': TASKS[index]})
    processed = pre(batch)
    tokens = processed['observation.language.tokens']
    mask = processed['observation.language.attention_mask']
    with torch.no_grad():
        model_images, image_masks = policy._preprocess_images(processed)
        normalized = policy.model.sample_actions(
            model_images, image_masks, tokens, mask, policy.prepare_state(processed),
            noise=noise.clone())
        chunk = post(normalized[:, :, :writers.ACTION_DIM])
    return {'images': images, 'state': state, 'task': np.asarray(TASKS[index]),
            'noise': noise.numpy(), 'prompt': np.asarray(processed['task'][0]),
            'tokens': tokens.numpy().astype(np.int64), 'token_mask': mask.numpy().astype(bool),
            'normalized_chunk': normalized.numpy(), 'chunk': chunk[0].numpy()}


def _reference(out: Path, python: Path) -> int:
    import lerobot
    import torch
    import transformers

    writers = _helper('lerobot_pi0_folder')
    torch.manual_seed(SEED)
    with tempfile.TemporaryDirectory() as tmp:
        vocab_size = writers.write_paligemma_style_tokenizer(Path(tmp) / 'tokenizer')
        folder = Path(tmp) / 'pi0'
        writer_versions = _folder_from_project(python, folder, vocab_size)
        weights_sha256 = hashlib.sha256((folder / 'model.safetensors').read_bytes()).hexdigest()
        policy = _reference_policy(folder, vocab_size)
        pre, post = _pipelines(folder, Path(tmp) / 'tokenizer')
        cases = [_case(index, policy, pre, post, writers) for index in range(len(TASKS))]
    arrays: dict[str, Any] = {f'case{index}_{key}': value for index, case in enumerate(cases)
              for key, value in case.items()}
    arrays['versions'] = np.asarray(
        f'lerobot {lerobot.__version__}; transformers {transformers.__version__} + openpi '
        f'transformers_replace 15a9616; torch {torch.__version__}; numpy {np.__version__}; '
        f'folder written with {writer_versions}')
    arrays['weights_sha256'] = np.asarray(weights_sha256)
    arrays['seed'] = np.asarray(SEED)
    out.parent.mkdir(parents=True, exist_ok=True)
    np.savez_compressed(out, **arrays)
    print(f'{out}: {len(cases)} cases; {arrays["versions"]}')
    return 0


def main(argv: list[str] | None = None) -> int:
    """Write the fixture (or, with ``--write-folder``, only the miniature); returns 0."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument('--out', type=Path,
                        default=REPO_ROOT / 'test' / 'fixtures' / 'pi0_reference.npz')
    parser.add_argument('--project-python', type=Path,
                        default=REPO_ROOT / '.venv' / 'bin' / 'python')
    parser.add_argument('--write-folder', type=Path, help=argparse.SUPPRESS)
    parser.add_argument('--vocab-size', type=int, help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    if args.write_folder is not None:
        _write_folder(args.write_folder, args.vocab_size)
        return 0
    return _reference(args.out, args.project_python)


if __name__ == '__main__':
    sys.exit(main())
