# SPDX-License-Identifier: Apache-2.0
# Copyright 2026 The vla_ros authors
r"""Reference outputs of LeRobot's own pi0-FAST on the miniature folder (the model parity fixture).

Writes ``test/fixtures/pi0_fast_reference.npz``; ``test/policies/test_fast_model_parity.py``
runs vla_ros's ``fast`` family on the same folder and inputs and compares.

This runs in a throwaway environment, never in the project's ``.venv``: LeRobot pins older
torch and transformers than vla_ros, and its pi0-FAST refuses to build unless transformers
4.53.2 carries openpi's ``transformers_replace`` patch. The environment that made the
committed fixture (2 CPU cores, no GPU)::

    python3.11 -m venv /tmp/fastmodel/refenv
    /tmp/fastmodel/refenv/bin/pip install 'torch==2.14.1' 'torchvision==0.29.1' \
        'transformers==4.53.2' 'huggingface_hub<0.36,>=0.34.2' 'tokenizers<0.22,>=0.21' \
        'draccus==0.10.0' 'diffusers<0.36' 'accelerate<1.12' 'datasets<4.2' safetensors \
        einops pillow imageio av pyserial termcolor deepdiff jsonlines scipy
    /tmp/fastmodel/refenv/bin/pip install --no-deps 'lerobot==0.4.4'
    # openpi's patch, as LeRobot's install docs require (openpi commit 15a9616):
    cp -r openpi/src/openpi/models_pytorch/transformers_replace/* \
        /tmp/fastmodel/refenv/lib/python3.11/site-packages/transformers/
    # processing_action_tokenizer.py: the released FAST tokenizer's code, from
    # https://huggingface.co/physical-intelligence/fast (as for tools/make_fast_fixture.py)
    /tmp/fastmodel/refenv/bin/python tools/make_fast_model_fixture.py \
        --action-tokenizer-code /tmp/fastref/processing_action_tokenizer.py \
        --out test/fixtures/pi0_fast_reference.npz

What runs is LeRobot 0.4.4's code: ``PI0FastPolicy`` (``modeling_pi0_fast.py``: its weight-key
fixing and ``load_state_dict``, strict; ``predict_action_chunk``: image preprocessing, the
prefix with ``<bos>`` appended, greedy KV-cache decoding for ``max_decoding_steps`` (64),
``detokenize_actions``), and the processor pipelines read from the folder's own
``policy_preprocessor.json`` / ``policy_postprocessor.json`` (MEAN_STD normalisation, the
state zero-padded to ``max_state_dim`` 32 and cut into 256 bins in the prompt, the
tokenizer step padding to 200). The FAST
tokenizer is the released ``UniversalActionProcessor`` code loaded by ``AutoProcessor``
(``trust_remote_code``) from the folder's ``action_tokenizer/``, to which this script adds that
code file and the ``auto_map`` entry a Hub FAST tokenizer has. Temperature is 0 (the
folder's); nothing is sampled.

Changed, and only in sizes: LeRobot builds the Gemma from named variants (``dummy`` is added:
openpi's width 64, 4 layers) and hard-codes the vocabulary (257152) and the So400m vision
tower with a 2048-wide projector; those are set here to the miniature's (the small
tokenizer's 1472 ids, one 72-wide SigLIP layer over 56 px images, a projector to 64). Also
changed, names not sizes: ``text_tokenizer_name`` / ``action_tokenizer_name`` (Hub names,
PaliGemma's gated) point to the folder's ``tokenizer/`` and ``action_tokenizer/``, and the
preprocessor's action tokenizer step is given those (overrides), as LeRobot's loader allows.
The miniature is laid out as LeRobot 0.6 writes pi0_fast; what 0.6 added and 0.4.4 does not
parse, ``use_relative_actions`` (false) and the ``relative_actions_processor`` step (disabled),
is dropped from the copies LeRobot 0.4.4 reads (the script stops if either is switched on).
And ``validate_action_token_prefix`` is set false: that assertion compares the first two
generated token strings with PaliGemma's ``'Action'`` and ``':'``, and the miniature's small
tokenizer spells ``Action: `` as ``Ac``, ``tio``, ``n``, ``:``, ``Ġ``; the decoding it guards
(drop the ``Action: `` tokens, cut at the first ``|``, FAST-decode) runs unchanged. The
generated ids recorded show the prefix; vla_ros requires it exactly.

The miniature is ``test/policies/lerobot_pi0_fast_folder.py``'s, written with seed 0, in two
weightings (``seeded_weights``, shared with the test): ``planted``, the writer's own planted
chain (the model emits ``Action: ``, known FAST ids, ``|``, so LeRobot's whole
``predict_action_chunk`` and postprocessor run), and ``random``, every tensor seeded random
(no ``Action: `` comes out, which the folder's ``validate_action_token_prefix`` refuses, so
only LeRobot's generation, ``sample_actions_fast_kv_cache`` as ``predict_action_chunk`` calls
it, is recorded; this is the weighting where images, prompt and every layer decide the
ids). The writer's torch initialisation differs between transformers versions, so every
tensor it did not plant is replaced from numpy's seeded generator; the fixture stores a digest
of the tensors, and of the folder's other files, so the test knows it rebuilt the same folder.
(The writer names SigLIP tensors for transformers 5; under 4.53 its ``vision_model.`` level
comes out doubled and is undone here.) The writer fits the miniature's FAST tokenizer with
vla_ros's ``ReleasedFastTokenizer`` (numpy and tokenizers only), so the repository root is put
on ``sys.path``; nothing else of vla_ros runs here.

The fixture holds, per observation, the raw inputs (uint8 56 x 56 images of two of the three
cameras, the state in robot units, kept 1e-3 bin clear of bin edges, the task); per
observation and weighting LeRobot's
prompt text, its padded token ids and mask and the ``<bos>`` id it appends, the 64 generated
ids, the logits of the first step, the smallest top-1/top-2 logit gap over the steps; for
``planted`` also the normalised chunk from ``detokenize_actions`` and the unnormalised one from
the postprocessor; plus the versions used.
"""

from __future__ import annotations

import argparse
import hashlib
import importlib.util
import json
from pathlib import Path
import shutil
import sys
import tempfile
from typing import Any

import numpy as np

REPO_ROOT = Path(__file__).resolve().parents[1]
SEED = 0
TASKS = ('touch the red cube', 'pick_up the blue\ncube')
WEIGHTINGS = ('planted', 'random')
#: numpy standard deviations of the ``random`` weighting.
RANDOM_STD, RANDOM_EMBEDDING_STD, RANDOM_CONSTANT_STD = 0.3, 1.0, 0.1
#: What LeRobot 0.6 writes and 0.4.4 does not know; dropped when switched off (module doc).
_NEWER_CONFIG_KEYS, _NEWER_STEPS = ('use_relative_actions',), ('relative_actions_processor',)
_INPUTS = ('images', 'state', 'task')
#: A state value this close to a bin edge (in bins) could fall either side in float32.
_BIN_MARGIN = 1e-3


def _helper(name: str) -> Any:
    """A test helper module next to the tests, by path (it imports vla_ros's FAST tokenizer)."""
    if str(REPO_ROOT) not in sys.path:
        sys.path.insert(0, str(REPO_ROOT))
    path = REPO_ROOT / 'test' / 'policies' / f'{name}.py'
    spec = importlib.util.spec_from_file_location(name, path)
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    sys.modules[name] = module
    spec.loader.exec_module(module)
    return module


def seeded_weights(folder: Path, weighting: str, seed: int = SEED) -> str:
    """Rewrite ``folder/model.safetensors`` so it is the same in every environment.

    The writer's tensors come from transformers' initialisation, which differs between
    versions (Gemma's norm weights start at 1 under 4.53 with openpi's patch, at 0 under 5).
    Kept: only what the writer plants, the ``lm_head`` chain and the zeroed language
    ``o_proj`` / ``down_proj``, and only for ``planted``. Every other tensor is drawn from
    numpy's generator seeded with ``seed``, by sorted name: its base (0, or 1 for SigLIP's
    LayerNorm scales; Gemma's RMSNorm scales 1 + w have base 0) plus noise. ``planted``:
    noise N(0, 0.02) on matrices, none on norms and biases. ``random``: N(0, 0.3) on
    matrices, N(0, 1) on ``lm_head`` (the tied embedding), N(0, 0.1) on norms and biases.
    Returns a digest of the tensors.
    """
    from safetensors.numpy import save_file
    from safetensors.torch import load_file  # numpy cannot read bfloat16

    if weighting not in WEIGHTINGS:
        raise ValueError(f'weighting {weighting!r}, expected one of {WEIGHTINGS}')
    path = folder / 'model.safetensors'
    # The writer adds SigLIP's ``vision_model.`` level to transformers 5's names; under
    # transformers 4 (which keeps that level) it would appear twice.
    doubled = 'vision_tower.vision_model.vision_model.'
    stored = {name.replace(doubled, 'vision_tower.vision_model.'): tensor.float().numpy()
              for name, tensor in load_file(str(path)).items()}
    rng = np.random.default_rng(seed + 1000 * (1 + WEIGHTINGS.index(weighting)))
    planted = weighting == 'planted'
    out: dict[str, np.ndarray] = {}
    for name in sorted(stored):
        tensor = stored[name]
        noise = rng.standard_normal(tensor.shape)
        kept = name.endswith('lm_head.weight') or ('language_model' in name and name.endswith(
            ('self_attn.o_proj.weight', 'mlp.down_proj.weight')))
        vector = name.endswith('.bias') or name.endswith(('norm.weight', 'norm1.weight',
                                                          'norm2.weight'))
        base = 1.0 if 'vision_tower' in name and vector and name.endswith('weight') else 0.0
        if planted and kept:
            out[name] = tensor
        elif vector:
            out[name] = (base + (0.0 if planted else RANDOM_CONSTANT_STD) * noise
                         ).astype(np.float32)
        else:
            std = 0.02 if planted else (RANDOM_EMBEDDING_STD if name.endswith('lm_head.weight')
                                        else RANDOM_STD)
            out[name] = (std * noise).astype(np.float32)
    save_file(out, str(path))
    return tensor_digest(out)


def tensor_digest(tensors: dict[str, Any]) -> str:
    """sha256 over the sorted names, shapes and float32 bytes."""
    digest = hashlib.sha256()
    for name in sorted(tensors):
        value = np.ascontiguousarray(np.asarray(tensors[name], dtype=np.float32))
        digest.update(f'{name}{value.shape}'.encode())
        digest.update(value.tobytes())
    return digest.hexdigest()


def files_digest(folder: Path) -> str:
    """sha256 over the folder's files other than the weights (config, statistics, tokenizers).

    ``tokenizer_config.json`` / ``special_tokens_map.json`` are left out: transformers versions
    write them differently from the same tokenizer.
    """
    digest = hashlib.sha256()
    for path in sorted(folder.rglob('*')):
        if path.is_file() and path.name not in ('model.safetensors', 'tokenizer_config.json',
                                                'special_tokens_map.json'):
            digest.update(str(path.relative_to(folder)).encode())
            digest.update(path.read_bytes())
    return digest.hexdigest()


def _released_action_tokenizer(folder: Path, code: Path) -> Path:
    """A copy of ``action_tokenizer/`` loadable by ``AutoProcessor`` (code + ``auto_map``)."""
    copy = folder.parent / 'action_tokenizer_with_code'
    shutil.copytree(folder / 'action_tokenizer', copy)
    shutil.copy(code, copy / 'processing_action_tokenizer.py')
    config = json.loads((copy / 'processor_config.json').read_text())
    config['auto_map'] = {'AutoProcessor':
                          'processing_action_tokenizer.UniversalActionProcessor'}
    (copy / 'processor_config.json').write_text(json.dumps(config, indent=2))
    return copy


def _reference_policy(folder: Path, action_tokenizer: Path, vocab_size: int,
                      image_px: int) -> Any:
    """LeRobot's PI0FastPolicy at the miniature's sizes, loaded from ``folder`` (module doc)."""
    from lerobot.configs.policies import PreTrainedConfig
    import lerobot.policies.pi0_fast.modeling_pi0_fast as modeling
    from safetensors.torch import load_file

    real_variant, real_vlm = modeling.get_gemma_config, modeling.PaliGemmaForConditionalGeneration

    def variant(name: str) -> Any:
        if name == 'dummy':  # openpi gemma.py's 'dummy'
            return modeling.GemmaConfig(width=64, depth=4, mlp_dim=128, num_heads=8,
                                        num_kv_heads=1, head_dim=16)
        return real_variant(name)

    def vlm(config: Any) -> Any:
        vision = config.vision_config
        vision.hidden_size, vision.num_hidden_layers = 72, 1
        vision.num_attention_heads, vision.intermediate_size = 1, 144
        vision.image_size = image_px
        vision.projection_dim = config.text_config.hidden_size
        config.text_config.vocab_size = config._vocab_size = vocab_size
        config.image_token_index = vocab_size
        return real_vlm(config=config)

    # PI0FastConfig accepts only gemma_2b / gemma_300m: parse a copy naming one, then set the
    # folder's own variant.
    raw = json.loads((folder / 'config.json').read_text())
    copy = folder.parent / 'config_for_parsing'
    copy.mkdir(exist_ok=True)
    newer = {key: raw.pop(key) for key in _NEWER_CONFIG_KEYS if key in raw}
    if any(newer.values()):
        raise SystemExit(f'{folder}: {newer} is switched on; LeRobot 0.4.4 has no such setting')
    (copy / 'config.json').write_text(json.dumps({**raw, 'paligemma_variant': 'gemma_2b'}))
    config = PreTrainedConfig.from_pretrained(copy)
    config.paligemma_variant = raw['paligemma_variant']
    config.text_tokenizer_name = str(folder / 'tokenizer')
    config.action_tokenizer_name = str(action_tokenizer)
    # Its check compares token strings with PaliGemma's ('Action', ':'); the small tokenizer
    # spells 'Action: ' in other pieces (module doc). Decoding itself is unchanged.
    config.validate_action_token_prefix = False
    modeling.get_gemma_config, modeling.PaliGemmaForConditionalGeneration = variant, vlm
    try:
        policy = modeling.PI0FastPolicy(config)
    finally:
        modeling.get_gemma_config, modeling.PaliGemmaForConditionalGeneration = (
            real_variant, real_vlm)
    _load_weights(policy, folder, load_file)
    policy.eval()
    return policy


def _load_weights(policy: Any, folder: Path, load_file: Any) -> None:
    """LeRobot's own loading steps (PI0FastPolicy.from_pretrained), strictly."""
    stored = load_file(str(folder / 'model.safetensors'))
    fixed = policy._fix_pytorch_state_dict_keys(stored, policy.config)
    result = policy.load_state_dict(fixed, strict=False)
    if result.missing_keys or result.unexpected_keys or len(fixed) != len(stored) + 1:
        raise SystemExit(f'the miniature does not match LeRobot: {result}')


def _pipelines(folder: Path, action_tokenizer: Any) -> tuple[Any, Any]:
    from lerobot.processor import PolicyProcessorPipeline
    from lerobot.processor.converters import (
        policy_action_to_transition,
        transition_to_policy_action,
    )
    from transformers import AutoTokenizer

    tokenizer = AutoTokenizer.from_pretrained(folder / 'tokenizer')
    raw = json.loads((folder / 'policy_preprocessor.json').read_text())
    newer = [step for step in raw['steps'] if step['registry_name'] in _NEWER_STEPS]
    if any(step['config'].get('enabled', True) for step in newer):
        raise SystemExit(f'{folder}: {newer} is switched on; LeRobot 0.4.4 has no such step')
    raw['steps'] = [step for step in raw['steps'] if step not in newer]
    (folder / 'policy_preprocessor_lerobot044.json').write_text(json.dumps(raw))
    pre = PolicyProcessorPipeline.from_pretrained(
        folder, 'policy_preprocessor_lerobot044.json', overrides={
            'tokenizer_processor': {'tokenizer': tokenizer},
            'action_tokenizer_processor': {
                'action_tokenizer_input_object': action_tokenizer,
                'paligemma_tokenizer_name': str(folder / 'tokenizer')}})
    post = PolicyProcessorPipeline.from_pretrained(
        folder, 'policy_postprocessor.json', to_transition=policy_action_to_transition,
        to_output=transition_to_policy_action)
    return pre, post


def _state(index: int, rng: np.random.Generator, writers: Any) -> np.ndarray:
    """A seeded state (robot units) no closer than _BIN_MARGIN to a bin edge once z-scored."""
    spread = 0.5 if index == 0 else 1.6  # case 1 reaches past [-1, 1]: bins -1 and 255
    mean = np.asarray(writers.STATE_MEAN, dtype=np.float32)
    std = np.float32(writers.MOTION_STD)
    for _ in range(100):
        state = (mean + spread * std * rng.uniform(-1.0, 1.0, writers.STATE_DIM)
                 ).astype(np.float32)
        position = ((state.astype(np.float64) - mean) / std + 1.0) * 128.0
        if np.all(np.abs(position - np.round(position)) > _BIN_MARGIN):
            return state
    raise SystemExit('no seeded state clear of the bin edges')


def _case(index: int, policy: Any, pre: Any, post: Any, writers: Any,
          planted: bool) -> dict[str, np.ndarray]:
    import torch

    rng = np.random.default_rng(SEED + 100 + index)
    images = rng.integers(0, 256, (2, writers.IMAGE_PX, writers.IMAGE_PX, 3), dtype=np.uint8)
    state = _state(index, rng, writers)
    batch = {key: torch.from_numpy(image).permute(2, 0, 1).float() / 255.0
             for key, image in zip(writers.IMAGE_KEYS[:2], images)}  # right wrist: absent
    batch.update({'observation.state': torch.from_numpy(state), 'task': TASKS[index]})
    processed = pre(batch)
    tokens = processed['observation.language.tokens']
    mask = processed['observation.language.attention_mask']

    generated: list[torch.Tensor] = []
    logits: list[torch.Tensor] = []
    model = policy.model
    real_sample = model.sample_actions_fast_kv_cache

    def recording_sample(*args: Any, **kwargs: Any) -> Any:
        out = real_sample(*args, **kwargs)
        generated.append(out.clone())
        return out

    hook = model.paligemma_with_expert.paligemma.lm_head.register_forward_hook(
        lambda _module, _inputs, output: logits.append(output[0, -1].detach().clone()))
    model.sample_actions_fast_kv_cache = recording_sample
    try:
        with torch.no_grad():
            if planted:
                normalized = policy.predict_action_chunk(processed)
                chunk = post(normalized)
            else:  # what predict_action_chunk does before detokenize_actions (module doc)
                model_images, image_masks = policy._preprocess_images(processed)
                model.sample_actions_fast_kv_cache(
                    model_images, image_masks, tokens, mask,
                    max_decoding_steps=policy.config.max_decoding_steps,
                    temperature=policy.config.temperature)
    finally:
        del model.sample_actions_fast_kv_cache
        hook.remove()
    stacked = torch.stack(logits)
    top2 = torch.topk(stacked, 2, dim=-1).values
    case = {'images': images, 'state': state, 'task': np.asarray(TASKS[index]),
            'prompt': np.asarray(processed['task'][0]),
            'tokens': tokens[0].numpy().astype(np.int64),
            'token_mask': mask[0].numpy().astype(bool),
            'bos_id': np.asarray(policy._paligemma_tokenizer.bos_token_id),
            'generated': generated[0][0].numpy().astype(np.int64),
            'first_logits': stacked[0].numpy(),
            'min_top2_gap': np.asarray(float((top2[:, 0] - top2[:, 1]).min()))}
    if planted:
        case['normalized_chunk'] = normalized[0].numpy()
        case['chunk'] = chunk[0].numpy()
    return case


def main(argv: list[str] | None = None) -> int:
    """Write the fixture; returns 0."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument('--action-tokenizer-code', type=Path, required=True,
                        help='processing_action_tokenizer.py of physical-intelligence/fast')
    parser.add_argument('--out', type=Path,
                        default=REPO_ROOT / 'test' / 'fixtures' / 'pi0_fast_reference.npz')
    args = parser.parse_args(argv)
    import lerobot
    import torch
    import transformers
    from transformers import AutoProcessor

    torch.set_num_threads(1)
    writers = _helper('lerobot_pi0_fast_folder')
    torch.manual_seed(SEED)
    arrays: dict[str, np.ndarray] = {}
    for weighting in WEIGHTINGS:
        with tempfile.TemporaryDirectory() as tmp:
            folder = Path(tmp) / 'pi0_fast'
            planted = writers.write_pi0_fast_folder(folder, seed=SEED)
            arrays[f'{weighting}_tensor_digest'] = np.asarray(seeded_weights(folder, weighting))
            arrays[f'{weighting}_files_digest'] = np.asarray(files_digest(folder))
            action_tokenizer = _released_action_tokenizer(folder, args.action_tokenizer_code)
            vocab_size = int(json.loads((folder / 'tokenizer' / 'tokenizer.json').read_text(
                ))['model']['vocab'].__len__())
            policy = _reference_policy(folder, action_tokenizer, vocab_size, writers.IMAGE_PX)
            pre, post = _pipelines(folder, AutoProcessor.from_pretrained(
                action_tokenizer, trust_remote_code=True))
            for index in range(len(TASKS)):
                case = _case(index, policy, pre, post, writers, weighting == 'planted')
                for key, value in case.items():  # the inputs once per case, not per weighting
                    name = f'case{index}_{key}' if key in _INPUTS else f'{weighting}{index}_{key}'
                    assert name not in arrays or np.array_equal(arrays[name], value), name
                    arrays[name] = value
                print(f'{weighting} case {index}: {case["generated"].tolist()}; smallest '
                      f'top-2 gap {float(case["min_top2_gap"]):.4f}')
            if weighting == 'planted':
                arrays['planted_fast_ids'] = np.asarray(planted.fast_ids, dtype=np.int64)
    arrays['versions'] = np.asarray(
        f'lerobot {lerobot.__version__}; transformers {transformers.__version__} + openpi '
        f'transformers_replace 15a9616; torch {torch.__version__}; numpy {np.__version__}')
    arrays['seed'] = np.asarray(SEED)
    args.out.parent.mkdir(parents=True, exist_ok=True)
    np.savez_compressed(args.out, **arrays)
    print(f'{args.out}: {arrays["versions"]}')
    return 0


if __name__ == '__main__':
    sys.exit(main())
