# SPDX-License-Identifier: Apache-2.0
# Copyright 2026 The vla_ros authors
"""Write a pi0-FAST policy as a LeRobot ``pi0_fast`` folder, the layout released ones have.

``save_pi0_fast_folder`` writes what ``lerobot-train`` (0.6) writes for ``pi0_fast`` and what
``lerobot_pi0_fast.describe_pi0_fast`` reads: ``config.json`` (``"type": "pi0_fast"``,
features, chunk size, decoding budget, ``fast_skip_tokens``, normalisation modes),
``model.safetensors`` (LeRobot's tensor names, the tied embedding saved once as ``lm_head``),
``policy_preprocessor.json`` / ``policy_postprocessor.json`` with the normaliser statistics
in their ``.safetensors``, the text tokenizer in ``tokenizer/`` and the FAST tokenizer, in
its released format, in ``action_tokenizer/``. Which joint and camera is which, and the
control period, are not in the folder: the embodiment YAML says them (``policy.inputs`` /
``policy.outputs``), as for a downloaded checkpoint. Image keys are
``observation.images.<camera>``. The Gemma variant is ``vla_ros`` (sizes read from the
tensors): LeRobot's own table only knows the full-size models.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
import json
from pathlib import Path
from typing import Any, TYPE_CHECKING

import numpy as np
from numpy.typing import NDArray
from safetensors.numpy import save_file as save_numpy
from safetensors.torch import save_file as save_torch

from vla_ros.policies.fast.lerobot_fast_policy import to_lerobot_name
from vla_ros.policies.fast.lerobot_pi0_fast import (
    LEROBOT_FAST_TYPE,
    LEROBOT_MAX_STATE_DIM,
    VLA_ROS_VARIANT,
)
from vla_ros.policies.lerobot_files import (
    LEROBOT_NORM_EPS,
    POSTPROCESSOR_FILENAME,
    PREPROCESSOR_FILENAME,
)

if TYPE_CHECKING:
    from transformers import PaliGemmaForConditionalGeneration, PreTrainedTokenizerBase

    from vla_ros.policies.fast.released_tokenizer import ReleasedFastTokenizer

__all__ = ['Pi0FastLayout', 'image_key', 'save_pi0_fast_folder']

_EMBED = 'model.language_model.embed_tokens.weight'
_PRE_STATE = 'policy_preprocessor_step_3_normalizer_processor.safetensors'
_POST_STATE = 'policy_postprocessor_step_0_unnormalizer_processor.safetensors'


def image_key(camera: str) -> str:
    """The image feature key of ``camera`` in a folder written here."""
    return f'observation.images.{camera}'


@dataclass(frozen=True, slots=True)
class Pi0FastLayout:
    """What ``config.json`` and the processor files say about a policy trained here.

    Attributes:
        cameras: camera names, in the model's order.
        image_px: side of the square images.
        state_dim / action_dim: widths of ``observation.state`` and ``action``.
        chunk_length: rows per chunk.
        max_decoding_steps: most ids generated per chunk (``Action: `` and ``|`` included).
        fast_skip_tokens: ids left free at the end of the text vocabulary.
        state_mode / action_mode: ``MEAN_STD`` or ``QUANTILES``.
        state_stats / action_stats: every statistic LeRobot keeps (mean, std, min, max, q01,
            q99) -> (D,) float32 values, robot units.
    """

    cameras: tuple[str, ...]
    image_px: int
    state_dim: int
    action_dim: int
    chunk_length: int
    max_decoding_steps: int
    fast_skip_tokens: int
    state_mode: str
    action_mode: str
    state_stats: Mapping[str, NDArray[np.float32]]
    action_stats: Mapping[str, NDArray[np.float32]]

    def config_json(self) -> dict[str, Any]:
        """The ``config.json`` mapping (LeRobot's ``PI0FastConfig`` keys)."""
        visual = {image_key(camera): {'type': 'VISUAL', 'shape': [3, self.image_px,
                                                                   self.image_px]}
                  for camera in self.cameras}
        return {
            'type': LEROBOT_FAST_TYPE, 'n_obs_steps': 1,
            'input_features': {**visual, 'observation.state': {
                'type': 'STATE', 'shape': [self.state_dim]}},
            'output_features': {'action': {'type': 'ACTION', 'shape': [self.action_dim]}},
            'device': 'cpu', 'use_amp': False, 'paligemma_variant': VLA_ROS_VARIANT,
            'dtype': 'float32', 'chunk_size': self.chunk_length,
            'n_action_steps': self.chunk_length, 'max_state_dim': LEROBOT_MAX_STATE_DIM,
            'use_relative_actions': False,
            'image_resolution': [self.image_px, self.image_px], 'empty_cameras': 0,
            'action_tokenizer_name': 'action_tokenizer', 'text_tokenizer_name': 'tokenizer',
            'temperature': 0.0, 'max_decoding_steps': self.max_decoding_steps,
            'fast_skip_tokens': self.fast_skip_tokens, 'use_kv_cache': True,
            'normalization_mapping': self._modes()}

    def _modes(self) -> dict[str, str]:
        return {'VISUAL': 'IDENTITY', 'STATE': self.state_mode, 'ACTION': self.action_mode}

    def write_pipelines(self, folder: Path) -> None:
        """The processor pipelines and their normaliser statistics."""
        features = {'observation.state': {'type': 'STATE', 'shape': [self.state_dim]},
                    'action': {'type': 'ACTION', 'shape': [self.action_dim]}}
        norm = {'eps': LEROBOT_NORM_EPS, 'features': features, 'norm_map': self._modes()}
        device = {'registry_name': 'device_processor',
                  'config': {'device': 'cpu', 'float_dtype': None}}
        preprocessor = {'name': 'policy_preprocessor', 'steps': [
            {'registry_name': 'rename_observations_processor', 'config': {'rename_map': {}}},
            {'registry_name': 'to_batch_processor', 'config': {}},
            {'registry_name': 'relative_actions_processor', 'config': {'enabled': False}},
            {'registry_name': 'normalizer_processor', 'config': norm,
             'state_file': _PRE_STATE},
            {'registry_name': 'pi0_fast_prepare_state_tokenizer_processor_step',
             'config': {'max_state_dim': LEROBOT_MAX_STATE_DIM, 'task_key': 'task'}},
            {'registry_name': 'tokenizer_processor', 'config': {
                'task_key': 'task', 'padding_side': 'right', 'tokenizer_name': 'tokenizer'}},
            {'registry_name': 'action_tokenizer_processor', 'config': {
                'fast_skip_tokens': self.fast_skip_tokens,
                'action_tokenizer_name': 'action_tokenizer'}},
            device]}
        postprocessor = {'name': 'policy_postprocessor', 'steps': [
            {'registry_name': 'unnormalizer_processor', 'config': norm,
             'state_file': _POST_STATE}, device]}
        stats = {**{f'observation.state.{k}': np.asarray(v, np.float32)
                    for k, v in self.state_stats.items()},
                 **{f'action.{k}': np.asarray(v, np.float32)
                    for k, v in self.action_stats.items()}}
        for name, pipeline, state_file in (
                (PREPROCESSOR_FILENAME, preprocessor, _PRE_STATE),
                (POSTPROCESSOR_FILENAME, postprocessor, _POST_STATE)):
            save_numpy(stats, str(folder / state_file))
            (folder / name).write_text(json.dumps(pipeline, indent=2) + '\n')


def save_pi0_fast_folder(folder: Path, model: PaliGemmaForConditionalGeneration,
                         tokenizer: PreTrainedTokenizerBase, fast: ReleasedFastTokenizer, *,
                         layout: Pi0FastLayout) -> Path:
    """Write the folder of the module doc (created; files of the same name replaced)."""
    folder = Path(folder)
    folder.mkdir(parents=True, exist_ok=True)
    # The embedding is tied to lm_head; LeRobot saves that tensor once, as lm_head.
    weights = {to_lerobot_name(name): tensor.detach().contiguous()
               for name, tensor in model.state_dict().items() if name != _EMBED}
    save_torch(weights, str(folder / 'model.safetensors'))
    (folder / 'config.json').write_text(json.dumps(layout.config_json(), indent=4) + '\n')
    layout.write_pipelines(folder)
    tokenizer.save_pretrained(folder / 'tokenizer')
    fast.save(folder / 'action_tokenizer')
    return folder
