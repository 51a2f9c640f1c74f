# SPDX-License-Identifier: Apache-2.0
# Copyright 2026 The vla_ros authors
"""`vla-ros inspect` for a LeRobot pi0-FAST folder: its dims, tokenizers and a policy block.

Read from the folder's own files without loading the weights (no torch): the Gemma variant,
parameter count, image keys, state and action widths, chunk length, decoding budget, the FAST
id mapping and normalisation, whether the folder carries its text and FAST tokenizers, then
the ``policy`` block of an embodiment config with the names the folder cannot know left as
placeholders. ``inspect.run`` calls ``pi0_fast_lines`` first.
"""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING

from vla_ros.policies.fast.lerobot_pi0_fast import (
    describe_pi0_fast,
    LEROBOT_FAST_TYPE,
    NORM_STATS,
)
from vla_ros.policies.lerobot_files import read_json

if TYPE_CHECKING:
    from vla_ros.policies.fast.lerobot_pi0_fast import LeRobotPi0Fast

__all__ = ['describe_lerobot_pi0_fast', 'pi0_fast_lines']


def _yaml_block(described: LeRobotPi0Fast) -> list[str]:
    key_width = max(len(key) for key, _ in described.image_keys)
    tokenizer = ('  # tokenizer: the folder has tokenizer/' if described.text_tokenizer
                 else '  tokenizer: PATH/TO/paligemma-3b-pt-224')
    return [
        '# Paste into the embodiment config; replace the CAMERA_/STATE_/ACTION_ names and dt_s.',
        'policy:',
        '  family: fast',
        f'  checkpoint: {described.folder.resolve()}',
        tokenizer,
        '  dtype: bfloat16                  # float32 | bfloat16 | float16 (float32 on a CPU)',
        '  inputs:',
        "    cameras:                       # image key -> camera, in the model's order",
        *(f'      {key + ":":<{key_width + 1}} CAMERA_{index}   # a camera name, or null'
          for index, (key, _) in enumerate(described.image_keys)),
        '    state: [' + ', '.join(f'STATE_{i}' for i in range(described.state_dim)) + ']',
        '  outputs:',
        '    joints: [' + ', '.join(f'ACTION_{i}' for i in range(described.action_dim)) + ']',
        '    dt_s: 0.1                      # control period of the training data, seconds',
        'execution:',
        f'  horizon: {described.action_steps}                      # n_action_steps',
    ]


def describe_lerobot_pi0_fast(described: LeRobotPi0Fast) -> list[str]:
    """The lines ``vla-ros inspect`` prints for a LeRobot pi0-FAST folder."""
    size = described.image_px
    action_tokenizer = (f'{described.action_tokenizer} (released format)'
                        if described.action_tokenizer else
                        f'missing: hf download {described.action_tokenizer_name} --local-dir '
                        f'{described.folder / "action_tokenizer"}')
    lines = [
        f'checkpoint: {described.folder}',
        f'layout: LeRobot pi0-FAST (config.json "type": "{LEROBOT_FAST_TYPE}"); family: fast',
        f'variant: PaliGemma {described.variant} (width {described.width}, {described.depth} '
        f'layers, vocabulary {described.vocab_size}); SigLIP width {described.vision_width}, '
        f'{described.vision_depth} layers, {described.patch_px} px patches',
        f'parameters: {described.parameter_count:,}; stored {"/".join(described.weight_dtypes)}',
        f"images: {len(described.image_keys)} in the model's order, each letterboxed to "
        f'{size}x{size}:',
        *(f'  {key}: {"x".join(str(n) for n in shape)} (C x H x W)'
          for key, shape in described.image_keys),
        f'state: observation.state, {described.state_dim} dims, in the prompt as 256 bins',
        f'actions: action, {described.action_dim} dims; chunk {described.chunk_length} rows, '
        f'LeRobot executes {described.action_steps}',
        f'decoding: "Action: ", FAST ids as model id V - 1 - {described.fast_skip_tokens} - f, '
        f'"|"; at most {described.max_decoding_steps} ids',
        f'normalisation: STATE {described.state_mode}, ACTION {described.action_mode}',
        f'text tokenizer: {described.text_tokenizer or "not in the folder (policy.tokenizer)"}',
        f'FAST tokenizer: {action_tokenizer}',
    ]
    for name, stats, mode in (('state', described.state_stats, described.state_mode),
                              ('action', described.action_stats, described.action_mode)):
        for stat in NORM_STATS[mode]:
            lines.append(f'  {name} {stat}: [' + ', '.join(f'{v:.4g}' for v in stats[stat]) + ']')
    return [*lines, '', *_yaml_block(described)]


def pi0_fast_lines(folder: Path) -> list[str] | None:
    """The description when ``folder`` is a LeRobot pi0-FAST folder, else None."""
    config_path = Path(folder) / 'config.json'
    if not config_path.is_file() or read_json(config_path, what='model config').get(
            'type') not in (LEROBOT_FAST_TYPE, 'pi0fast'):
        return None
    return describe_lerobot_pi0_fast(describe_pi0_fast(folder))
