# SPDX-License-Identifier: Apache-2.0
# Copyright 2026 The vla_ros authors
"""Train a tiny pi0-FAST policy on demonstrations; write it as a LeRobot ``pi0_fast`` folder.

The folder is the layout a released pi0-FAST has (``pi0_fast_folder.py``) and loads through
the same code (``lerobot_fast_policy``), with the robot mapping in the embodiment YAML
(``policy.inputs`` / ``policy.outputs``). What the model learns is what it is deployed with
(``pi0_fast_prompt.Pi0FastPrompt``): after LeRobot's prompt it generates ``Action: ``, FAST
ids (model id ``V - 1 - 128 - f``), ``|`` and ``<eos>``, by teacher-forced cross-entropy
(``tokens.teacher_forcing``). State and actions are normalised with their q01/q99
(QUANTILES, as openpi's pi0-FAST), stored as float32 like LeRobot's statistics. The FAST
tokenizer is fitted on the normalised training chunks in the released format
(``ReleasedFastTokenizer.fit``). The text tokenizer is the token families' small BPE, its
vocabulary extended by reserved tokens so that the FAST ids and the 128 skipped ids sit at
its end as in PaliGemma's, and ``<bos>`` put in front of every text as PaliGemma's tokenizer
does. The vision tower's heads are 72 wide (SigLIP's, which the layout implies).

``vla-ros train --family fast`` calls ``train``.
"""

from __future__ import annotations

from dataclasses import dataclass, field
import json
from pathlib import Path
from typing import TYPE_CHECKING

import numpy as np
from numpy.typing import NDArray
from tokenizers import processors, Tokenizer
import torch
from transformers import PreTrainedTokenizerFast

from vla_ros.core.errors import ConfigError
from vla_ros.core.normalization import compute_stats
from vla_ros.core.training_samples import dataset_spec, instructions_of
from vla_ros.policies.fast.lerobot_fast_policy import build_paligemma
from vla_ros.policies.fast.lerobot_pi0_fast import LEROBOT_MAX_STATE_DIM, PaliGemmaShape
from vla_ros.policies.fast.pi0_fast_folder import Pi0FastLayout, save_pi0_fast_folder
from vla_ros.policies.fast.pi0_fast_prompt import LeRobotNormalizer, Pi0FastPrompt
from vla_ros.policies.fast.released_tokenizer import ReleasedFastTokenizer
from vla_ros.policies.tokens.config import ActionSpace
from vla_ros.policies.tokens.pointing import pretrain
from vla_ros.policies.tokens.sequences import IGNORE_INDEX, MIN_SPAN, SequenceTensors
from vla_ros.policies.tokens.teacher_forcing import fit_and_save
from vla_ros.policies.tokens.teacher_forcing import TrainingConfig as TokensTrainingConfig
from vla_ros.policies.tokens.vlm import build_text_tokenizer, VlmSize

if TYPE_CHECKING:
    from vla_ros.core.pointing_set import PointingSet
    from vla_ros.core.training_samples import SampleSource
    from vla_ros.policies.base import PolicySpec
    from vla_ros.policies.training_result import TrainingResult

__all__ = ['DEFAULT_FAST_VOCAB_SIZE', 'FAST_SKIP_TOKENS', 'TrainingConfig', 'model_shape',
           'pi0_fast_text_tokenizer', 'train']

#: FAST ids of a trained policy: the 256 byte-level symbols and the BPE merges.
DEFAULT_FAST_VOCAB_SIZE = 512
#: Ids left free at the end of the text vocabulary, as pi0-FAST leaves 128 of PaliGemma's.
FAST_SKIP_TOKENS = 128
_DCT_SCALE = 10.0
_SIGLIP_HEAD_SIZE = 72


@dataclass(frozen=True, slots=True)
class TrainingConfig(TokensTrainingConfig):
    """The token families' settings; by default absolute actions and one 72-wide vision head."""

    size: VlmSize = field(default_factory=lambda: VlmSize(vision_width=_SIGLIP_HEAD_SIZE))
    action_space: ActionSpace = ActionSpace.ABSOLUTE


def pi0_fast_text_tokenizer(extra_texts: list[str], *, fast_vocab_size: int
                            ) -> PreTrainedTokenizerFast:
    """The small text BPE (``tokens.vlm``) with the FAST and skipped ids reserved at its end.

    Encoding a text puts ``<bos>`` in front, as PaliGemma's tokenizer does.
    """
    base = build_text_tokenizer(extra_texts)
    raw = json.loads(base.backend_tokenizer.to_str())
    vocab = raw['model']['vocab']
    for index in range(fast_vocab_size + FAST_SKIP_TOKENS):
        vocab[f'<reserved{index:04}>'] = len(vocab)
    extended = Tokenizer.from_str(json.dumps(raw))
    extended.post_processor = processors.TemplateProcessing(
        single='<bos> $A', special_tokens=[('<bos>', vocab['<bos>'])])
    return PreTrainedTokenizerFast(  # type: ignore[no-untyped-call]
        tokenizer_object=extended, pad_token='<pad>', eos_token='<eos>', bos_token='<bos>',
        unk_token='<unk>')


def _all_stats(values: NDArray[np.float64]) -> dict[str, NDArray[np.float32]]:
    """LeRobot's statistics, float32; q01/q99 widened to ``MIN_SPAN`` around their centre."""
    stats = compute_stats(values)
    q01, q99 = np.asarray(stats.q01), np.asarray(stats.q99)
    centre, half = (q01 + q99) / 2.0, np.maximum(q99 - q01, MIN_SPAN) / 2.0
    return {name: np.asarray(value, np.float32) for name, value in (
        ('mean', values.mean(axis=0)), ('std', values.std(axis=0)), ('min', values.min(axis=0)),
        ('max', values.max(axis=0)), ('q01', centre - half), ('q99', centre + half))}


def _padded(rows: list[NDArray[np.int64]], value: int) -> torch.Tensor:
    table = np.full((len(rows), max(len(row) for row in rows)), value, dtype=np.int64)
    for index, row in enumerate(rows):
        table[index, :len(row)] = row
    return torch.from_numpy(table)


def _sequences(samples: SampleSource, prompt: Pi0FastPrompt, targets: list[NDArray[np.int64]],
               *, pad_id: int) -> SequenceTensors:
    """Prompt then target ids per sample; labels on the targets only (``sequences.py``)."""
    rows, labels, types, images = [], [], [], []
    for index, target in enumerate(targets):
        observation = samples[index].observation
        prompt_ids = prompt.prompt_ids(observation)
        rows.append(np.concatenate([prompt_ids, target]))
        labels.append(np.concatenate([np.full(len(prompt_ids), IGNORE_INDEX), target]))
        types.append(np.concatenate([np.zeros(len(prompt_ids), np.int64),
                                     np.ones(len(target), np.int64)]))
        images.append(prompt.images(observation))
    return SequenceTensors(
        input_ids=_padded(rows, pad_id),
        attention_mask=_padded([np.ones(len(row), dtype=np.int64) for row in rows], 0),
        token_type_ids=_padded(types, 1), labels=_padded(labels, IGNORE_INDEX),
        images=torch.from_numpy(np.stack(images)))


def model_shape(spec: PolicySpec, size: VlmSize, vocab_size: int) -> PaliGemmaShape:
    """The PaliGemma of ``size`` for ``spec``'s images and a vocabulary of ``vocab_size``.

    Raises:
        ConfigError: images the vision tower cannot cut, or a vision width that is not a
            multiple of SigLIP's head size.
    """
    size.tokens_per_image(spec)  # raises for non-square images or a side patch_px leaves over
    if size.vision_width % _SIGLIP_HEAD_SIZE:
        raise ConfigError(f'VlmSize.vision_width: {size.vision_width!r}, expected a multiple of '
                          f'{_SIGLIP_HEAD_SIZE} (SigLIP head size, which the pi0_fast layout '
                          'implies)')
    return PaliGemmaShape(
        width=size.width, depth=size.depth, mlp_width=4 * size.width, heads=size.heads,
        head_size=size.head_dim, vocab_size=vocab_size, vision_width=size.vision_width,
        vision_depth=size.vision_depth, vision_mlp_width=4 * size.vision_width,
        patch_px=size.patch_px, image_px=spec.image_height)


def train(samples: SampleSource, out_dir: Path, *, dt_s: float,
          config: TokensTrainingConfig | None = None, progress: bool = True,
          pointing: PointingSet | None = None, length_constrained: bool = False,
          fast_vocab_size: int = DEFAULT_FAST_VOCAB_SIZE) -> TrainingResult:
    """Fit a tiny pi0-FAST to ``samples``; write its LeRobot ``pi0_fast`` folder to ``out_dir``.

    Args:
        samples: demonstrations; every chunk has the policy's chunk length.
        out_dir: the folder; created if missing, files of the same name replaced.
        dt_s: time between chunk rows, seconds (the YAML's ``policy.outputs.dt_s``).
        config: the run's settings; ``TrainingConfig()`` when None. Absolute actions only.
        progress: show a tqdm progress bar on stderr.
        pointing: scenes to pre-train the VLM on first; None trains from random weights.
        length_constrained: refused: the released layout decodes freely.
        fast_vocab_size: FAST ids (at least the 256 byte-level symbols).

    Raises:
        ConfigError: no samples, inconsistent samples or an invalid setting.
        InputError: an observation the prompt refuses.
    """
    config = config or TrainingConfig()
    if length_constrained or config.action_space is not ActionSpace.ABSOLUTE:
        raise ConfigError('fast training writes the released pi0_fast layout, which decodes '
                          'freely and predicts absolute actions: drop --length-constrained and '
                          'use --action-space absolute')
    spec = dataset_spec(samples, dt_s=dt_s)
    joints = spec.joint_names
    states = np.stack([samples[i].observation.positions_for(joints) for i in range(len(samples))])
    actions = np.stack([samples[i].actions for i in range(len(samples))])
    layout_stats = (_all_stats(states), _all_stats(actions.reshape(-1, len(joints))))
    # Normalised with the float32 statistics the folder stores, as the loader will.
    state_norm, action_norm = (LeRobotNormalizer('QUANTILES', {
        name: values.astype(np.float64) for name, values in stats.items()})
        for stats in layout_stats)
    fast = ReleasedFastTokenizer.fit(action_norm.normalize(actions), vocab_size=fast_vocab_size,
                                     scale=_DCT_SCALE)
    tokenizer = pi0_fast_text_tokenizer(sorted(instructions_of(samples)),
                                        fast_vocab_size=fast.vocab_size)
    shape = model_shape(spec, config.size, tokenizer.vocab_size)
    model = build_paligemma(shape, seed=config.seed, init_std=config.size.init_std)
    prompt = Pi0FastPrompt(tokenizer, spec, state_joints=joints, state=state_norm,
                           model_vocab_size=shape.vocab_size,
                           tokens_per_image=config.size.tokens_per_image(spec),
                           fast_skip_tokens=FAST_SKIP_TOKENS, fast_vocab_size=fast.vocab_size,
                           state_width=LEROBOT_MAX_STATE_DIM)  # what the folder's step says
    targets = [prompt.target_ids(fast.encode(chunk)) for chunk in action_norm.normalize(actions)]
    assert tokenizer.pad_token_id is not None, 'the tokenizer has <pad>'
    tensors = _sequences(samples, prompt, targets, pad_id=tokenizer.pad_token_id)
    # tokens.pointing reads only the prompt's spec and task_ids, which Pi0FastPrompt has.
    pointed = None if pointing is None else pretrain(
        model, prompt, pointing, config)  # type: ignore[arg-type]
    layout = Pi0FastLayout(
        cameras=spec.camera_names, image_px=shape.image_px, state_dim=len(joints),
        action_dim=len(joints), chunk_length=spec.chunk_length,
        # A coefficient's character is one or two UTF-8 bytes: at most two ids each.
        max_decoding_steps=prompt.prefix_length + 2 * spec.chunk_length * len(joints) + 1,
        fast_skip_tokens=FAST_SKIP_TOKENS, state_mode='QUANTILES', action_mode='QUANTILES',
        state_stats=layout_stats[0], action_stats=layout_stats[1])
    return fit_and_save(model, tensors, config, family='fast', pointing=pointed,
                        progress=progress,
                        save=lambda: save_pi0_fast_folder(out_dir, model, tokenizer, fast,
                                                          layout=layout))
