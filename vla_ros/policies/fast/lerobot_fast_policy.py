# SPDX-License-Identifier: Apache-2.0
# Copyright 2026 The vla_ros authors
r"""Run a LeRobot pi0-FAST folder as published: strict weights, its prompt, its token ids.

The folder (``lerobot_pi0_fast.describe_pi0_fast``) holds one PaliGemma; it loads into
transformers' ``PaliGemmaForConditionalGeneration`` under the same names minus LeRobot's
prefix, every tensor accounted for (a missing, unexpected or wrongly shaped one is a
ConfigError listing them). The embodiment YAML maps joints and cameras (``policy.inputs``,
``policy.outputs``) and, when the folder has no ``tokenizer/``, names PaliGemma's tokenizer
(``policy.tokenizer``). The FAST tokenizer is the folder's ``action_tokenizer/``.

``infer`` builds LeRobot's prompt: the present cameras' image tokens, ``<bos>Task: {task},
State: {bins};\n`` (state normalised with the folder's statistics, zero-padded to
``max_state_dim`` and cut into 256 bins as ``np.digitize`` does, unclipped) and ``<bos>``;
decodes greedily over the whole vocabulary until ``|``; then requires ``Action: ``, FAST ids
(model id ``V - 1 - skip - f``) and ``|``, and decodes the FAST ids into chunk_size rows.
Anything else is a PolicyOutputError (LeRobot pads, truncates or returns zeros).
"""

from __future__ import annotations

import threading
from typing import TYPE_CHECKING

import numpy as np
from numpy.typing import NDArray
from safetensors import SafetensorError
from safetensors.torch import load_file
import torch
from transformers import AutoTokenizer, PaliGemmaConfig, PaliGemmaForConditionalGeneration

from vla_ros.core.errors import ConfigError
from vla_ros.core.types import ActionChunk
from vla_ros.policies.base import PolicySpec
from vla_ros.policies.device import resolve_device, resolve_dtype
from vla_ros.policies.fast.lerobot_pi0_fast import (
    describe_pi0_fast,
    PALIGEMMA_PREFIX,
    PaliGemmaShape,
)
from vla_ros.policies.fast.pi0_fast_prompt import LeRobotNormalizer, Pi0FastPrompt, state_bins
from vla_ros.policies.fast.released_length_rule import (
    Pi0FastLengthRule,
    released_symbols_per_id,
)
from vla_ros.policies.fast.released_tokenizer import ReleasedFastTokenizer
from vla_ros.policies.lerobot_files import read_json
from vla_ros.policies.tokens.greedy_decoding import greedy_decode

if TYPE_CHECKING:
    from pathlib import Path

    from transformers import PreTrainedTokenizerBase

    from vla_ros.core.config import PolicyConfig
    from vla_ros.core.types import Observation
    from vla_ros.policies.fast.lerobot_pi0_fast import LeRobotPi0Fast
    from vla_ros.policies.tokens.prompt import PromptInputs

__all__ = ['LeRobotFastPolicy', 'build_paligemma', 'load_lerobot_pi0_fast', 'state_bins',
           'to_lerobot_name']

_LISTED = 4
_EMBED = 'model.language_model.embed_tokens.weight'
_LEROBOT_VISION, _MODEL_VISION = 'model.vision_tower.vision_model.', 'model.vision_tower.'
_TOKENIZER_HINT = ("PaliGemma's tokenizer is a gated download: `hf download "
                   "google/paligemma-3b-pt-224 --include 'tokenizer*' --local-dir DIR` and set "
                   'policy.tokenizer: DIR')


def build_paligemma(shape: PaliGemmaShape, *, dtype: torch.dtype = torch.float32,
                    seed: int | None = None, init_std: float | None = None,
                    ) -> PaliGemmaForConditionalGeneration:
    """A PaliGemma of ``shape``, initialised at random (seeded when ``seed`` is given).

    ``init_std`` replaces transformers' initial standard deviation (training small models).
    """
    text: dict[str, object] = {
        'model_type': 'gemma', 'hidden_size': shape.width, 'intermediate_size': shape.mlp_width,
        'num_hidden_layers': shape.depth, 'num_attention_heads': shape.heads,
        'num_key_value_heads': 1, 'head_dim': shape.head_size, 'vocab_size': shape.vocab_size,
        'hidden_activation': 'gelu_pytorch_tanh', 'use_bidirectional_attention': False}
    if init_std is not None:
        text['initializer_range'] = init_std
    vision = {'model_type': 'siglip_vision_model', 'hidden_size': shape.vision_width,
              'intermediate_size': shape.vision_mlp_width,
              'num_hidden_layers': shape.vision_depth,
              'num_attention_heads': shape.vision_width // 72,
              'patch_size': shape.patch_px, 'image_size': shape.image_px,
              'vision_use_head': False}
    config = PaliGemmaConfig(text_config=text, vision_config=vision,
                             projection_dim=shape.width, hidden_size=shape.width,
                             image_token_index=shape.vocab_size, vocab_size=shape.vocab_size)
    if init_std is not None:
        config.initializer_range = init_std
    with torch.random.fork_rng(devices=[]):
        if seed is not None:
            torch.manual_seed(seed)
        model = PaliGemmaForConditionalGeneration(config)
    model.to(dtype)  # type: ignore[arg-type]  # transformers' wrapper hides nn.Module.to
    model.eval()  # type: ignore[no-untyped-call]
    return model


def _listing(kind: str, names: list[str]) -> str:
    more = f' and {len(names) - _LISTED} more' if len(names) > _LISTED else ''
    return f'{len(names)} {kind} ({", ".join(names[:_LISTED])}{more})'


def load_weights_strictly(model: PaliGemmaForConditionalGeneration, folder: Path) -> None:
    """Copy every tensor of the folder into ``model``, or raise naming what does not match.

    Raises:
        ConfigError: unreadable weights, or missing, unexpected or wrongly shaped tensors.
    """
    files = [folder / name for name in _weight_files(folder)]
    stored: dict[str, torch.Tensor] = {}
    try:
        for path in files:
            stored.update(load_file(str(path)))
    except (OSError, SafetensorError) as err:
        raise ConfigError(f'{folder}: cannot read the weights ({err})') from err
    renamed = {_to_model(name): tensor for name, tensor in stored.items()
               if name.startswith(PALIGEMMA_PREFIX)}
    expected = model.state_dict()
    unexpected = sorted(name for name in stored if not name.startswith(PALIGEMMA_PREFIX))
    unexpected += sorted(to_lerobot_name(name) for name in renamed if name not in expected)
    # The token embedding is tied to lm_head; LeRobot saves that tensor once, as lm_head.
    missing = sorted(to_lerobot_name(name) for name in expected
                     if name not in renamed and name != _EMBED)
    mismatched = sorted(f'{to_lerobot_name(name)}: checkpoint {list(tensor.shape)}, model '
                        f'{list(expected[name].shape)}' for name, tensor in renamed.items()
                        if name in expected and tensor.shape != expected[name].shape)
    if _EMBED in renamed and 'lm_head.weight' in renamed and not torch.equal(
            renamed[_EMBED], renamed['lm_head.weight']):
        mismatched.append(f'{PALIGEMMA_PREFIX}{_EMBED}: differs from lm_head.weight (untied)')
    problems = [_listing(kind, names) for kind, names in (
        ('missing tensors', missing), ('unexpected tensors', unexpected),
        ('tensors of the wrong shape', mismatched)) if names]
    if problems:
        raise ConfigError(f'{folder}: the weights do not match the model: ' + '; '.join(problems))
    renamed.setdefault(_EMBED, renamed['lm_head.weight'])
    model.load_state_dict(renamed, strict=False)


def _to_model(lerobot_name: str) -> str:
    """LeRobot's name -> transformers' (which drops the vision tower's ``vision_model.``)."""
    name = lerobot_name[len(PALIGEMMA_PREFIX):]
    return name.replace(_LEROBOT_VISION, _MODEL_VISION, 1) if name.startswith(
        _LEROBOT_VISION) else name


def to_lerobot_name(model_name: str) -> str:
    """A transformers name -> LeRobot's (inverse of ``_to_model``)."""
    name = model_name.replace(_MODEL_VISION, _LEROBOT_VISION, 1) if model_name.startswith(
        _MODEL_VISION) else model_name
    return PALIGEMMA_PREFIX + name


def _weight_files(folder: Path) -> list[str]:
    index = folder / 'model.safetensors.index.json'
    if not index.is_file():
        return ['model.safetensors']
    weight_map = read_json(index, what='weights index').get('weight_map')
    if not isinstance(weight_map, dict):
        raise ConfigError(f'{index}: no weight_map')
    return sorted({str(name) for name in weight_map.values()})


class LeRobotFastPolicy:
    """A LeRobot pi0-FAST folder, loaded; implements ``vla_ros.policies.base.Policy``."""

    def __init__(self, described: LeRobotPi0Fast, model: PaliGemmaForConditionalGeneration,
                 tokenizer: PreTrainedTokenizerBase, fast: ReleasedFastTokenizer, *,
                 spec: PolicySpec, state_joints: tuple[str, ...], device: torch.device,
                 length_constrained: bool = False) -> None:
        self._described = described
        self._model = model
        self._fast = fast
        self._tokenizer = tokenizer
        self._spec = spec
        self._device = device
        self._prompt = Pi0FastPrompt(
            tokenizer, spec, state_joints=state_joints,
            state=LeRobotNormalizer(described.state_mode, described.state_stats),
            model_vocab_size=described.vocab_size,
            tokens_per_image=(described.image_px // described.patch_px) ** 2,
            fast_skip_tokens=described.fast_skip_tokens, fast_vocab_size=fast.vocab_size,
            state_width=described.state_width)
        self._actions = LeRobotNormalizer(described.action_mode, described.action_stats)
        self._allowed: torch.Tensor | Pi0FastLengthRule = torch.ones(described.vocab_size,
                                                                     dtype=torch.bool)
        if length_constrained:
            self._allowed = Pi0FastLengthRule(
                self._prompt.action_prefix, released_symbols_per_id(fast),
                last_fast_id=self._prompt.last_fast_id, end_id=self._prompt.end_id,
                coefficients=spec.chunk_length * len(spec.joint_names),
                vocab_size=described.vocab_size)
        self._lock = threading.Lock()

    @property
    def spec(self) -> PolicySpec:
        """The policy's fixed input and output contract."""
        return self._spec

    @property
    def model(self) -> PaliGemmaForConditionalGeneration:
        """The underlying transformers model."""
        return self._model

    @property
    def fast_tokenizer(self) -> ReleasedFastTokenizer:
        """The folder's FAST tokenizer."""
        return self._fast

    @property
    def tokenizer(self) -> PreTrainedTokenizerBase:
        """The text tokenizer."""
        return self._tokenizer

    @property
    def length_constrained(self) -> bool:
        """Whether decoding keeps every chunk at its exact length (``policy.decoding``)."""
        return isinstance(self._allowed, Pi0FastLengthRule)

    @property
    def described(self) -> LeRobotPi0Fast:
        """What the folder is."""
        return self._described

    def prompt(self, observation: Observation) -> PromptInputs:
        """The prompt (``pi0_fast_prompt``) for ``observation``."""
        return self._prompt.encode(observation)

    def generate_ids(self, observation: Observation) -> NDArray[np.int64]:
        """The ids the model generates after the prompt, up to and with ``|``."""
        inputs = self.prompt(observation).to(self._device)
        with self._lock:
            return greedy_decode(self._model, inputs, allowed=self._allowed,
                                 max_new_tokens=self._described.max_decoding_steps,
                                 end_id=self._prompt.end_id)

    def fast_ids(self, generated: NDArray[np.int64]) -> NDArray[np.int64]:
        """``Action: `` + model ids + ``|`` -> FAST ids; PolicyOutputError for anything else."""
        return self._prompt.fast_ids(generated, budget=self._described.max_decoding_steps)

    def infer(self, observation: Observation) -> ActionChunk:
        """The next action chunk (absolute joint targets) for ``observation``.

        Raises:
            InputError: a missing camera or joint.
            PolicyOutputError: the generated ids are no well-formed FAST chunk.
        """
        normalized = self._fast.decode(self.fast_ids(self.generate_ids(observation)))
        return ActionChunk(joint_names=self._spec.joint_names,
                           positions=self._actions.unnormalize(normalized), dt_s=self._spec.dt_s)


def _spec(described: LeRobotPi0Fast, settings: PolicyConfig | None) -> PolicySpec:
    if settings is None or settings.inputs is None or settings.outputs is None:
        raise ConfigError(f'policy.inputs/policy.outputs: {described.folder} is a LeRobot '
                          'pi0_fast folder, which does not say which joint or camera is which; '
                          f'run `vla-ros inspect {described.folder}` for a block to paste')
    for where, joints, width in (('policy.inputs.state', settings.inputs.state,
                                  described.state_dim),
                                 ('policy.outputs.joints', settings.outputs.joints,
                                  described.action_dim)):
        if len(joints) != width:
            raise ConfigError(f'{where}: {len(joints)} joints {list(joints)!r}, the checkpoint '
                              f'has {width} dimensions')
    keys = [key for key, _ in described.image_keys]
    mapping = settings.inputs.cameras
    wrong = sorted(set(mapping) ^ set(keys))
    if wrong:
        raise ConfigError(f'policy.inputs.cameras: image keys {wrong!r} are not both in the '
                          f'mapping and the checkpoint; its image keys are {keys!r} (map each '
                          'to a camera, or to null)')
    cameras = tuple(camera for key in keys if (camera := mapping[key]) is not None)
    return PolicySpec(joint_names=settings.outputs.joints, camera_names=cameras,
                      image_height=described.image_px, image_width=described.image_px,
                      chunk_length=described.chunk_length, dt_s=settings.outputs.dt_s)


def load_lerobot_pi0_fast(folder: Path, device: str, settings: PolicyConfig | None, *,
                          length_constrained: bool = False) -> LeRobotFastPolicy:
    """Read, map and load a LeRobot pi0-FAST folder onto ``device``.

    ``length_constrained`` decodes with ``Pi0FastLengthRule`` instead of freely (the
    released models' way): the YAML's ``policy.decoding: length_constrained``.

    Raises:
        ConfigError: an unsupported or inconsistent folder, a missing or wrong YAML mapping,
            a missing tokenizer, or weights that do not match exactly.
    """
    described = describe_pi0_fast(folder)
    spec = _spec(described, settings)
    assert settings is not None and settings.inputs is not None  # checked by _spec
    tokenizer_dir = described.text_tokenizer or settings.tokenizer
    if tokenizer_dir is None:
        raise ConfigError(f'policy.tokenizer: not set, and {folder} has no tokenizer/; '
                          f'{_TOKENIZER_HINT}')
    try:
        tokenizer = AutoTokenizer.from_pretrained(tokenizer_dir, local_files_only=True)
    except (OSError, ValueError, TypeError, KeyError) as err:
        raise ConfigError(f'policy.tokenizer: {str(tokenizer_dir)!r} holds no readable '
                          f'tokenizer ({type(err).__name__}); {_TOKENIZER_HINT}') from err
    if described.action_tokenizer is None:
        raise ConfigError(f'{folder}: no action_tokenizer/ (the FAST tokenizer); `hf download '
                          f'{described.action_tokenizer_name} --local-dir '
                          f'{folder / "action_tokenizer"}`')
    fast = ReleasedFastTokenizer.load(described.action_tokenizer,
                                      chunk_length=described.chunk_length,
                                      action_dim=described.action_dim)
    torch_device = resolve_device(device)
    model = build_paligemma(described.paligemma_shape(),
                            dtype=resolve_dtype(settings.dtype, torch_device))
    load_weights_strictly(model, folder)
    model.to(torch_device)  # type: ignore[arg-type]
    return LeRobotFastPolicy(described, model, tokenizer, fast, spec=spec,
                             state_joints=settings.inputs.state, device=torch_device,
                             length_constrained=length_constrained)
