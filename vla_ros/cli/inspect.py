# SPDX-License-Identifier: Apache-2.0
# Copyright 2026 The vla_ros authors
"""`vla-ros inspect CHECKPOINT`: what a checkpoint folder is, and a YAML block to start from.

For a LeRobot pi0 or pi0.5 folder it prints the family, Gemma variants, parameter count,
image keys and sizes, state and action widths, normalisation (with the statistics its mode
uses), chunk length and dtype (and for pi0.5 the prompt length), read from the folder's own
files without loading the weights (no torch), then the ``policy`` block of an embodiment
config with every name the folder cannot know left as a placeholder to edit. For a vla_ros flow
checkpoint it prints the contract its ``vla_ros_policy.json`` states.
"""

from __future__ import annotations

import argparse
from pathlib import Path
from typing import TYPE_CHECKING

from vla_ros.cli.inspect_fast import pi0_fast_lines
from vla_ros.core.errors import ConfigError
from vla_ros.policies.flow.config import FlowPolicyConfig
from vla_ros.policies.flow.lerobot_pi0 import (
    CheckpointLayout,
    describe_lerobot,
    describe_pi0,
    detect_layout,
    LEROBOT_TYPE_FAMILIES,
)
from vla_ros.policies.lerobot_files import read_json

if TYPE_CHECKING:
    import numpy as np
    from numpy.typing import NDArray

    from vla_ros.policies.flow.lerobot_pi0 import LeRobotPi0

__all__ = ['add_arguments', 'describe_lerobot_pi0', 'run']


def add_arguments(parser: argparse.ArgumentParser) -> None:
    """Declare the verb's arguments."""
    parser.add_argument('checkpoint', type=Path,
                        help='checkpoint folder (LeRobot pi0 / pi0.5 or vla_ros)')


def _values(values: NDArray[np.float64]) -> str:
    return '[' + ', '.join(f'{value:.4g}' for value in values) + ']'


def _yaml_block(described: LeRobotPi0) -> list[str]:
    key_width = max(len(key) for key, _ in described.image_keys)
    cameras = [f'      {key + ":":<{key_width + 1}} CAMERA_{index}   # a camera name, or null'
               for index, (key, _) in enumerate(described.image_keys)]
    return [
        '# Paste into the embodiment config; replace the CAMERA_/STATE_/ACTION_ names, dt_s and',
        "# the tokenizer path (PaliGemma's, not in the folder: google/paligemma-3b-pt-224).",
        'policy:',
        f'  family: {LEROBOT_TYPE_FAMILIES[described.policy_type]}',
        f'  checkpoint: {described.folder.resolve()}',
        '  tokenizer: PATH/TO/paligemma-3b-pt-224',
        '  dtype: bfloat16                  # float32 | bfloat16 | float16 (float32 on a CPU)',
        '  inputs:',
        "    cameras:                       # image key -> camera, in the model's order",
        *cameras,
        '    state: [' + ', '.join(f'STATE_{i}' for i in range(described.state_dim)) + ']',
        '  outputs:',
        '    joints: [' + ', '.join(f'ACTION_{i}' for i in range(described.action_dim)) + ']',
        '    dt_s: 0.1                      # control period of the training data, seconds',
        'execution:',
        f'  horizon: {described.action_steps}                      # n_action_steps of the '
        'folder',
    ]


def describe_lerobot_pi0(described: LeRobotPi0) -> list[str]:
    """The lines ``vla-ros inspect`` prints for a LeRobot pi0 or pi0.5 folder."""
    text, expert, vision = described.text, described.expert, described.vision
    size, kind = described.image_px, described.policy_type
    prompt = [f'prompt: {described.tokenizer_max_length} tokens, the state discretised into '
              '256 bins in it; action expert with adaRMS time conditioning'
              ] if kind == 'pi05' else []
    lines = [
        f'checkpoint: {described.folder}',
        f'layout: LeRobot {kind} (config.json "type": "{kind}"); family: '
        f'{LEROBOT_TYPE_FAMILIES[kind]}',
        f'variant: PaliGemma {text.variant} (width {text.width}, {text.depth} layers, '
        f'vocabulary {text.vocab_size}) + action expert {expert.variant} (width '
        f'{expert.width}); SigLIP width {vision.width}, {vision.depth} layers, '
        f'{vision.patch_px} px patches',
        f'parameters: {described.parameter_count:,}',
        f'dtype: stored {"/".join(described.weight_dtypes)}, config.json says '
        f'{described.stored_dtype}',
        f"images: {len(described.image_keys)} in the model's order, each letterboxed to "
        f'{size}x{size}:',
        *(f'  {key}: {"x".join(str(n) for n in shape)} (C x H x W)'
          for key, shape in described.image_keys),
        f'state: observation.state, {described.state_dim} dims (padded to '
        f'{described.max_state_dim})',
        f'actions: action, {described.action_dim} dims (padded to {described.max_action_dim}); '
        f'chunk {described.chunk_length} rows, LeRobot executes {described.action_steps}; '
        f'{described.denoising_steps} denoising steps',
        *prompt,
        'normalisation: ' + ', '.join(f'{feature} {mode}' for feature, mode in
                                      sorted(described.normalization.items())),
    ]
    for name, feature, stats in (('state', 'STATE', described.state_stats),
                                 ('action', 'ACTION', described.action_stats)):
        quantiles = described.normalization.get(feature) == 'QUANTILES'
        for stat in ('q01', 'q99') if quantiles else ('mean', 'std'):
            if stat in stats:
                lines.append(f'  {name} {stat}: {_values(stats[stat])}')
    return [*lines, '', *_yaml_block(described)]


def _describe_vla_ros(folder: Path) -> list[str]:
    config = FlowPolicyConfig.load(folder)
    spec = config.spec
    state = f'state: {len(config.state_joints)} joints'
    if config.pointed_state is not None:
        state += (f', then the (x, y) its pointing head finds ({config.pointed_state.readout} '
                  'readout, at every inference)')
    rows = 'offsets from the observed joints' if config.joint_deltas else 'absolute targets'
    return [
        f'checkpoint: {folder}',
        'layout: vla_ros flow checkpoint (vla_ros_policy.json); family: flow',
        f'joints: {list(spec.joint_names)}',
        f'cameras: {list(spec.camera_names)}, {spec.image_width}x{spec.image_height} after '
        'letterboxing',
        f'chunk: {spec.chunk_length} rows every {spec.dt_s} s; '
        f'{config.num_denoising_steps} denoising steps',
        f'normalisation: {config.normalization.mode.value}',
        state,
        f'chunk rows: {rows}',
        '',
        'policy:',
        '  family: flow',
        f'  checkpoint: {folder.resolve()}',
    ]


def run(args: argparse.Namespace) -> int:
    """Print the description; returns 0 (errors are ConfigErrors, one line)."""
    folder = Path(args.checkpoint)
    if not folder.is_dir():
        raise ConfigError(f'{str(folder)!r} is not a directory')
    fast = pi0_fast_lines(folder)  # LeRobot pi0-FAST (inspect_fast.py)
    if fast is not None:
        print('\n'.join(fast))
        return 0
    config_path = folder / 'config.json'
    if config_path.is_file() and read_json(config_path, what='model config').get(
            'type') == 'pi05':
        lines = describe_lerobot_pi0(describe_lerobot(folder, policy_type='pi05'))
    elif detect_layout(folder) is CheckpointLayout.LEROBOT_PI0:
        lines = describe_lerobot_pi0(describe_pi0(folder))
    else:
        lines = _describe_vla_ros(folder)
    print('\n'.join(lines))
    return 0
