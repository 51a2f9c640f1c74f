# SPDX-License-Identifier: Apache-2.0
# Copyright 2026 The vla_ros authors
r"""Loading path for OpenVLA checkpoints (``openvla/openvla-7b`` and fine-tunes), offline.

For users who have such a checkpoint on disk; nothing is downloaded.

A local OpenVLA checkpoint directory holds the remote-code files (``config.json`` with an
``auto_map`` entry ``AutoModelForVision2Seq``, ``modeling_prismatic.py``,
``processing_prismatic.py``), the weights, the processor files and ``dataset_statistics.json``.
Add ``vla_ros_openvla.json`` to it::

    {"schema_version": 1, "unnorm_key": "bridge_orig", "action_space": "absolute",
     "spec": {"joint_names": [... one name per action dimension ...],
              "camera_names": ["front"], "image_height": 224, "image_width": 224,
              "chunk_length": 1, "dt_s": 0.2}}

``load_policy('tokens', DIR)`` then loads it here: the model class named by
``auto_map['AutoModelForVision2Seq']`` with ``trust_remote_code`` (transformers 5 dropped that
auto class; the class is resolved from the checkpoint's own code), and the processor with
``AutoProcessor``. OpenVLA's code was validated on transformers 4.40; a transformers version
it no longer runs on surfaces as a ConfigError at load time.

Inference follows OpenVLA's ``predict_action``: the prompt
``In: What action should the robot take to {instruction}?\nOut:`` plus the empty token 29871,
greedy ``generate`` of one token per action dimension (KV-cached), then
``ActionTokenizer(layout=OPENVLA_EDGES)`` over the last 256 ids of the tokenizer's vocabulary
and q01/q99 unnormalization with ``dataset_statistics.json[unnorm_key]['action']``, only where
its ``mask`` is true. A generated id outside the action range is a PolicyOutputError.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass
import math
from pathlib import Path
from typing import Any

import numpy as np
from numpy.typing import NDArray
from PIL import Image
import torch

from vla_ros.core.errors import ConfigError
from vla_ros.core.images import require_size
from vla_ros.core.instructions import normalize_instruction
from vla_ros.core.normalization import DEFAULT_EPS, QuantileStats
from vla_ros.core.types import ActionChunk, Observation
from vla_ros.policies.base import PolicySpec
from vla_ros.policies.checkpoint_json import (
    check_header,
    parse_fields,
    read_config_json,
    spec_from_json,
)
from vla_ros.policies.checkpoint_policy import CheckpointPolicy
from vla_ros.policies.tokens.action_tokenizer import ActionTokenizer, BinLayout
from vla_ros.policies.tokens.config import ActionSpace

__all__ = [
    'CONFIG_FILENAME', 'EMPTY_TOKEN_ID', 'OpenVlaConfig', 'OpenVlaPolicy', 'STATS_FILENAME',
    'action_stats', 'load_openvla', 'openvla_prompt',
]

CONFIG_FILENAME = 'vla_ros_openvla.json'
STATS_FILENAME = 'dataset_statistics.json'
#: Llama-2's empty token that OpenVLA's training prompts end with after "Out:".
EMPTY_TOKEN_ID = 29871

#: (prompt, image) -> a mapping with ``input_ids``, ``attention_mask`` and ``pixel_values``.
OpenVlaProcessor = Callable[..., Mapping[str, torch.Tensor]]


@dataclass(frozen=True, slots=True)
class OpenVlaConfig:
    """What ``vla_ros_openvla.json`` says about an OpenVLA checkpoint.

    Attributes:
        spec: one joint name per action dimension, one camera, chunk_length 1.
        unnorm_key: the dataset of ``dataset_statistics.json`` to unnormalize with; None
            when the file holds exactly one.
        action_space: whether actions are absolute or added to the observed joints.
    """

    spec: PolicySpec
    unnorm_key: str | None
    action_space: ActionSpace = ActionSpace.ABSOLUTE

    def __post_init__(self) -> None:
        if self.spec.chunk_length != 1 or len(self.spec.camera_names) != 1:
            raise ConfigError(
                f'spec: chunk_length {self.spec.chunk_length} and {len(self.spec.camera_names)}'
                ' cameras; OpenVLA predicts one step from one camera')

    @classmethod
    def load(cls, checkpoint_dir: Path) -> OpenVlaConfig:
        """Read and validate ``vla_ros_openvla.json``.

        Raises:
            ConfigError: missing, not JSON, or an invalid field (named).
        """
        path = Path(checkpoint_dir) / CONFIG_FILENAME
        try:
            raw = read_config_json(path)
            fields = parse_fields(raw, '', required={'schema_version', 'spec', 'unnorm_key',
                                                     'action_space'})
            check_header({**fields, 'family': 'tokens'}, 'tokens')
            key, space = fields['unnorm_key'], fields['action_space']
            if key is not None and not isinstance(key, str):
                raise ConfigError(f'unnorm_key: {key!r}, expected a string or null')
            if space not in {member.value for member in ActionSpace}:
                raise ConfigError(f'action_space: {space!r}, expected one of '
                                  f'{[member.value for member in ActionSpace]}')
            return cls(spec=spec_from_json(fields['spec']), unnorm_key=key,
                       action_space=ActionSpace(space))
        except ConfigError as err:
            raise ConfigError(f'{path}: {err}') from err


def openvla_prompt(instruction: str) -> str:
    """OpenVLA's prompt for ``instruction`` (lower-cased, as its examples do)."""
    return (f'In: What action should the robot take to '
            f'{normalize_instruction(instruction).lower()}?\nOut:')


def action_stats(dataset_statistics: Any, unnorm_key: str | None,
                 where: str = STATS_FILENAME) -> QuantileStats:
    """The action statistics of ``unnorm_key`` in OpenVLA's ``dataset_statistics.json``.

    Returns q01/q99 and the mask (all True when absent). eps is 0, OpenVLA's arithmetic,
    unless a dimension has q01 == q99.

    Raises:
        ConfigError: no or an unknown key (the known ones are listed), or malformed entries.
    """
    if not isinstance(dataset_statistics, Mapping) or not dataset_statistics:
        raise ConfigError(f'{where}: {dataset_statistics!r}, expected a mapping of datasets')
    keys = sorted(dataset_statistics)
    if unnorm_key is None:
        if len(keys) != 1:
            raise ConfigError(f'{where}: {len(keys)} datasets {keys!r}; set unnorm_key in '
                              f'{CONFIG_FILENAME} to one of them')
        unnorm_key = keys[0]
    if unnorm_key not in dataset_statistics:
        raise ConfigError(f'unnorm_key: {unnorm_key!r} is not in {where}; known: {keys!r}')
    entry = dataset_statistics[unnorm_key]
    if not isinstance(entry, Mapping) or not isinstance(entry.get('action'), Mapping):
        raise ConfigError(f'{where}.{unnorm_key}.action: missing or not a mapping')
    action = entry['action']
    raw = {key: action[key] for key in ('q01', 'q99', 'mask') if key in action}
    spans = [high - low for low, high in zip(action.get('q01', ()), action.get('q99', ()))
             if isinstance(low, int | float) and isinstance(high, int | float)]
    raw['eps'] = 0.0 if spans and min(spans) > 0.0 and all(map(math.isfinite, spans)) \
        else DEFAULT_EPS
    return QuantileStats.from_json(raw, f'{where}.{unnorm_key}.action')


class OpenVlaPolicy(CheckpointPolicy[OpenVlaConfig, OpenVlaProcessor]):
    """An OpenVLA-style policy: one bin token per action dimension, one step per inference.

    Args:
        model: a transformers model with ``generate`` (OpenVLA's, or any vision-to-text one).
        processor: ``processor(text=..., images=PIL image, return_tensors='pt')``.
        config: spec, action space.
        stats: the action statistics (``action_stats``).
        action_vocab_size: V of the tokenizer: bin k is id V - 1 - k.
        append_empty_token: append ``EMPTY_TOKEN_ID`` after "Out:" (OpenVLA's Llama-2 prompt).
        device: where the model lives.
    """

    def __init__(self, model: Any, processor: OpenVlaProcessor, config: OpenVlaConfig,
                 stats: QuantileStats, *, action_vocab_size: int, append_empty_token: bool,
                 device: torch.device) -> None:
        if stats.dim != len(config.spec.joint_names):
            raise ConfigError(f'{STATS_FILENAME}: {stats.dim} action dimensions, the spec '
                              f'names {len(config.spec.joint_names)}')
        super().__init__(processor, config, device=device)
        self._model, self._stats = model, stats
        self._tokenizer = ActionTokenizer(vocab_size=action_vocab_size,
                                          layout=BinLayout.OPENVLA_EDGES)
        self._append_empty_token = append_empty_token

    @property
    def model(self) -> Any:
        """The transformers model."""
        return self._model

    @property
    def action_tokenizer(self) -> ActionTokenizer:
        """Bin tokens <-> normalized actions, OpenVLA's layout."""
        return self._tokenizer

    def prompt_ids(self, observation: Observation) -> dict[str, torch.Tensor]:
        """The model inputs of ``observation`` (prompt, empty token, pixels) on the device.

        Raises:
            InputError: the camera image is missing or of the wrong size, or no instruction.
        """
        spec = self.spec
        camera = spec.camera_names[0]
        image = observation.images_for(spec)[0]
        require_size(image, height=spec.image_height, width=spec.image_width,
                     where=f'camera {camera!r}')
        encoded = self._processor(text=openvla_prompt(observation.instruction),
                                  images=Image.fromarray(image), return_tensors='pt')
        input_ids, attention = encoded['input_ids'], encoded['attention_mask']
        if self._append_empty_token and int(input_ids[0, -1]) != EMPTY_TOKEN_ID:
            input_ids = torch.cat([input_ids, torch.tensor([[EMPTY_TOKEN_ID]])], dim=1)
            attention = torch.cat([attention, torch.ones_like(attention[:, :1])], dim=1)
        dtype = next(self._model.parameters()).dtype
        return {'input_ids': input_ids.to(self._device),
                'attention_mask': attention.to(self._device),
                'pixel_values': encoded['pixel_values'].to(self._device, dtype)}

    def decode(self, token_ids: NDArray[np.int64],
               joint_positions: NDArray[np.float64]) -> ActionChunk:
        """Generated action ids (D,) -> a one-step chunk of targets.

        Raises:
            PolicyOutputError: the wrong count or an id outside the action range.
        """
        spec = self.spec
        normalized = self._tokenizer.decode(token_ids, len(spec.joint_names))
        actions = self._stats.unnormalize(normalized)
        if self._config.action_space is ActionSpace.DELTA:
            actions = actions + joint_positions
        return ActionChunk(joint_names=spec.joint_names, positions=actions, dt_s=spec.dt_s)

    def infer(self, observation: Observation) -> ActionChunk:
        """Compute the next one-step chunk for ``observation``.

        Raises:
            InputError: the observation does not fit the spec.
            PolicyOutputError: a generated id is no action token.
        """
        inputs = self.prompt_ids(observation)
        action_dim = len(self.spec.joint_names)
        with self._lock, torch.inference_mode():
            generated = self._model.generate(**inputs, max_new_tokens=action_dim,
                                             min_new_tokens=action_dim, do_sample=False)
        token_ids = generated[0, -action_dim:].cpu().numpy().astype(np.int64)
        return self.decode(token_ids, observation.positions_for(self.spec.joint_names))


def load_openvla(checkpoint_dir: Path, device: torch.device) -> OpenVlaPolicy:
    """Load the OpenVLA checkpoint in ``checkpoint_dir`` (remote code, local files only).

    Raises:
        ConfigError: a missing or invalid file, or remote code that does not load.
    """
    from transformers import AutoConfig, AutoProcessor
    from transformers.dynamic_module_utils import get_class_from_dynamic_module

    config = OpenVlaConfig.load(checkpoint_dir)
    stats = action_stats(read_config_json(checkpoint_dir / STATS_FILENAME), config.unnorm_key,
                         str(checkpoint_dir / STATS_FILENAME))
    dtype = torch.bfloat16 if device.type == 'cuda' else torch.float32
    try:
        model_config = AutoConfig.from_pretrained(checkpoint_dir, trust_remote_code=True,
                                                  local_files_only=True)
        # transformers 5 has no AutoModelForVision2Seq: resolve the checkpoint's own class.
        model_class: Any = get_class_from_dynamic_module(
            model_config.auto_map['AutoModelForVision2Seq'], checkpoint_dir,
            local_files_only=True)
        model = model_class.from_pretrained(checkpoint_dir, config=model_config, dtype=dtype,
                                            trust_remote_code=True, local_files_only=True)
        processor: OpenVlaProcessor = AutoProcessor.from_pretrained(  # type: ignore[no-untyped-call]
            checkpoint_dir, trust_remote_code=True, local_files_only=True)
    except (OSError, ValueError, KeyError, AttributeError, ImportError, TypeError) as err:
        raise ConfigError(f'{checkpoint_dir}: cannot load the OpenVLA model or processor '
                          f'(remote code, transformers version?): {err!r}') from err
    model.to(device)
    model.eval()
    text_config = model_config.text_config
    vocab_size = int(text_config.vocab_size) - int(getattr(model_config, 'pad_to_multiple_of', 0))
    return OpenVlaPolicy(model, processor, config, stats, action_vocab_size=vocab_size,
                         append_empty_token=True, device=device)
