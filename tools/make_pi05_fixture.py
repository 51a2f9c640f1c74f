# SPDX-License-Identifier: Apache-2.0
# Copyright 2026 The vla_ros authors
"""Reference outputs of LeRobot's own pi0.5 on the miniature folder (the pi0.5 parity fixture).

Writes ``test/fixtures/pi05_reference.npz``.

This runs in a throwaway environment, never in the project's ``.venv``: LeRobot pins older
torch and transformers than vla_ros, and its pi0.5 needs transformers 4.53.2 patched with
openpi's ``transformers_replace`` (adaRMS norms, gated residuals, no embedding scaling inside
Gemma). The environment that made the committed fixture (2 CPU cores, no GPU)::

    python3.11 -m venv /tmp/refenv
    /tmp/refenv/bin/pip install 'torch==2.14.1' 'torchvision==0.29.1' 'transformers==4.53.2' \
        'huggingface_hub<0.36,>=0.34.2' 'tokenizers<0.22,>=0.21' 'draccus==0.10.0' \
        'diffusers<0.36' 'accelerate<1.12' 'datasets<4.2' safetensors einops pillow imageio \
        av pyserial termcolor deepdiff jsonlines
    /tmp/refenv/bin/pip install --no-deps 'lerobot==0.4.4'
    # openpi's patch, as LeRobot's and openpi's install docs require (openpi commit 15a9616):
    cp -r openpi/src/openpi/models_pytorch/transformers_replace/* \
        /tmp/refenv/lib/python3.11/site-packages/transformers/
    /tmp/refenv/bin/python tools/make_pi05_fixture.py --out test/fixtures/pi05_reference.npz

(torch 2.14.1 rather than LeRobot's pin below 2.11: PyPI's torchvision for the older torch
would not load next to this machine's torch; LeRobot imports torchvision only for datasets.)

What runs is LeRobot 0.4.4's code: ``PI05Policy`` (``modeling_pi05.py``: prefix, adaRMS
expert, Euler loop), its weight-key fixing and ``load_state_dict``, and the processor
pipelines read from the folder's own ``policy_preprocessor.json`` /
``policy_postprocessor.json`` (QUANTILES normalisation, the state discretised into the prompt,
the tokenizer step). Changed, and only in sizes: LeRobot builds the two Gemmas from named
variants (``dummy`` is added: openpi's width 64, 4 layers), and hard-codes the vocabulary
(257152) and the So400m vision tower with a 2048-wide projector; those are set here to the
miniature's (vocabulary of the small tokenizer, one 72-wide SigLIP layer, a projector to 64).
The miniature folder is ``test/policies/lerobot_pi05_folder.py``'s, the tokenizer
``lerobot_pi0_folder.write_paligemma_style_tokenizer``'s; LeRobot refuses a folder whose
tensors it does not all take, so this also checks the miniature's tensor names.

The fixture holds, per case: the raw inputs (uint8 images of the present cameras, the state in
robot units, the task), the noise, LeRobot's prompt, tokens and mask, its normalised chunk
(chunk_size x max_action_dim) and the unnormalised action chunk, plus the versions used.
"""

from __future__ import annotations

import argparse
import importlib.util
import json
from pathlib import Path
import sys
import tempfile
from typing import Any

import numpy as np

REPO_ROOT = Path(__file__).resolve().parents[1]
SEED = 0
TASKS = ('touch the red cube', 'pick_up the blue\ncube')


def _helper(name: str) -> Any:
    path = REPO_ROOT / 'test' / 'policies' / f'{name}.py'
    spec = importlib.util.spec_from_file_location(name, path)
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    sys.modules[name] = module
    spec.loader.exec_module(module)
    return module


def _reference_policy(folder: Path, vocab_size: int) -> Any:
    """LeRobot's PI05Policy at the miniature's sizes, loaded from ``folder`` (see module doc)."""
    from lerobot.configs.policies import PreTrainedConfig
    import lerobot.policies.pi05.modeling_pi05 as modeling
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
        return real_vlm(config=config)

    def expert(config: Any) -> Any:
        config.vocab_size = vocab_size
        return real_expert(config=config)

    # PI05Config accepts only gemma_2b / gemma_300m: parse a copy naming those, then set
    # the folder's own variants.
    raw = json.loads((folder / 'config.json').read_text())
    variants = (raw['paligemma_variant'], raw['action_expert_variant'])
    copy = folder.parent / 'config_for_parsing'
    copy.mkdir(exist_ok=True)
    (copy / 'config.json').write_text(json.dumps(
        {**raw, 'paligemma_variant': 'gemma_2b', 'action_expert_variant': 'gemma_300m'}))
    config = PreTrainedConfig.from_pretrained(copy)
    config.paligemma_variant, config.action_expert_variant = variants
    modeling.get_gemma_config, modeling.PaliGemmaForConditionalGeneration = variant, vlm
    modeling.GemmaForCausalLM = expert
    try:
        policy = modeling.PI05Policy(config)
    finally:
        modeling.get_gemma_config, modeling.PaliGemmaForConditionalGeneration = (
            real_variant, real_vlm)
        modeling.GemmaForCausalLM = real_expert
    stored = load_file(str(folder / 'model.safetensors'))
    # LeRobot's own loading steps (PI05Policy.from_pretrained), checked rather than logged.
    fixed = policy._fix_pytorch_state_dict_keys(stored, policy.config)
    result = policy.load_state_dict(fixed, strict=False)
    tied = 'model.paligemma_with_expert.paligemma.model.language_model.embed_tokens.weight'
    if result.unexpected_keys or set(result.missing_keys) != {tied} or len(fixed) != len(stored):
        raise SystemExit(f'the miniature does not match LeRobot: {result}')
    policy.eval()
    return policy


def _pipelines(folder: Path, tokenizer_dir: Path) -> tuple[Any, Any]:
    from lerobot.processor import PolicyProcessorPipeline
    from lerobot.processor.converters import (
        policy_action_to_transition,
        transition_to_policy_action,
    )
    from transformers import AutoTokenizer

    tokenizer = AutoTokenizer.from_pretrained(tokenizer_dir)
    pre = PolicyProcessorPipeline.from_pretrained(
        folder, 'policy_preprocessor.json',
        overrides={'tokenizer_processor': {'tokenizer': tokenizer}})
    post = PolicyProcessorPipeline.from_pretrained(
        folder, 'policy_postprocessor.json', to_transition=policy_action_to_transition,
        to_output=transition_to_policy_action)
    return pre, post


def _case(index: int, policy: Any, pre: Any, post: Any, writers: Any) -> dict[str, np.ndarray]:
    import torch

    rng = np.random.default_rng(SEED + 100 + index)
    images = rng.integers(0, 256, (2, writers.IMAGE_PX, writers.IMAGE_PX, 3), dtype=np.uint8)
    spread = 0.5 if index == 0 else 1.6  # case 1 reaches past q01/q99: bins -1 and 255
    state = (np.asarray(writers.STATE_MEAN) + spread * writers.QUANTILE_HALF_RANGE
             * rng.uniform(-1.0, 1.0, writers.STATE_DIM)).astype(np.float32)
    noise = torch.from_numpy(rng.standard_normal(
        (1, writers.CHUNK_SIZE, writers.MAX_DIM)).astype(np.float32))
    batch = {key: torch.from_numpy(image).permute(2, 0, 1).float() / 255.0
             for key, image in zip(writers.IMAGE_KEYS[:2], images)}  # right wrist: absent
    batch.update({'observation.state': torch.from_numpy(state), 'task': TASKS[index]})
    processed = pre(batch)
    tokens = processed['observation.language.tokens']
    mask = processed['observation.language.attention_mask']
    with torch.no_grad():
        model_images, image_masks = policy._preprocess_images(processed)
        normalized = policy.model.sample_actions(model_images, image_masks, tokens, mask,
                                                 noise=noise.clone())
        chunk = post(normalized[:, :, :writers.ACTION_DIM])
    return {'images': images, 'state': state, 'task': np.asarray(TASKS[index]),
            'noise': noise.numpy(), 'prompt': np.asarray(processed['task'][0]),
            'tokens': tokens.numpy().astype(np.int64), 'token_mask': mask.numpy().astype(bool),
            'normalized_chunk': normalized.numpy(), 'chunk': chunk[0].numpy()}


def main(argv: list[str] | None = None) -> int:
    """Write the fixture; returns 0."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument('--out', type=Path,
                        default=REPO_ROOT / 'test' / 'fixtures' / 'pi05_reference.npz')
    args = parser.parse_args(argv)
    import lerobot
    import torch
    import transformers

    writers = _helper('lerobot_pi05_folder')
    tokenizers = _helper('lerobot_pi0_folder')
    torch.manual_seed(SEED)
    with tempfile.TemporaryDirectory() as tmp:
        vocab_size = tokenizers.write_paligemma_style_tokenizer(Path(tmp) / 'tokenizer')
        folder = writers.write_pi05_folder(Path(tmp) / 'pi05', vocab_size=vocab_size, seed=SEED)
        policy = _reference_policy(folder, vocab_size)
        pre, post = _pipelines(folder, Path(tmp) / 'tokenizer')
        cases = [_case(index, policy, pre, post, writers) for index in range(len(TASKS))]
    arrays = {f'case{index}_{key}': value for index, case in enumerate(cases)
              for key, value in case.items()}
    arrays['versions'] = np.asarray(
        f'lerobot {lerobot.__version__}; transformers {transformers.__version__} + openpi '
        f'transformers_replace 15a9616; torch {torch.__version__}; numpy {np.__version__}')
    arrays['seed'] = np.asarray(SEED)
    args.out.parent.mkdir(parents=True, exist_ok=True)
    np.savez_compressed(args.out, **arrays)
    print(f'{args.out}: {len(cases)} cases; {arrays["versions"]}')
    return 0


if __name__ == '__main__':
    sys.exit(main())
