# SPDX-License-Identifier: Apache-2.0
# Copyright 2026 The vla_ros authors
"""The trainers `vla-ros train` runs: one table, one call for every family.

Every family's ``vla_ros.policies.<family>.train`` module has a ``TrainingConfig`` and
``train(samples, out_dir, *, dt_s, config, progress, pointing)``; ``TRAINERS`` says which
module that is and which of the options only some families take (``FAMILY_OPTIONS``) it
reads. ``prepare_run`` builds the family's config (its defaults stand for every option left
unset) and binds the call, so the verb can print the effective settings before it reads any
data. An option the family does not take is a ``ConfigError``, never ignored. Family modules
(torch, transformers) are imported only when a run is prepared, so ``vla-ros --help`` stays
fast.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass, replace
import importlib
from pathlib import Path
from typing import Any, Protocol, TYPE_CHECKING

from vla_ros.core.errors import ConfigError
from vla_ros.core.policy_family import PolicyFamily

if TYPE_CHECKING:
    from vla_ros.core.training_samples import SampleSource
    from vla_ros.policies.training_result import TrainingResult

__all__ = [
    'FAMILY_OPTIONS', 'TRAINERS', 'PreparedRun', 'RunOptions', 'Trainer', 'TrainingSettings',
    'prepare_run',
]


@dataclass(frozen=True, slots=True)
class RunOptions:
    """The verb's training options, as parsed.

    Attributes:
        steps: optimizer steps; None: the family's default.
        batch_size: samples per step; None: the family's default.
        learning_rate: peak AdamW rate; None: the family's default.
        seed: seeds weights, batch order and noise.
        log_every: steps between loss reports.
        threads: torch CPU threads during the run.
        progress: draw a progress bar on stderr.
        length_constrained: store length-constrained decoding in the checkpoint (``fast``).
        pointing: a pointing set (``vla-ros pointing``) to pre-train the VLM on.
        pointing_steps: steps of that pre-training; None: the family's default.
        pointing_weight: weight of the pointing loss kept during the action training
            (``flow``, ``tokens``, ``fast``); None: the family's default (0, none).
        action_space: ``absolute`` or ``delta`` chunk rows (``tokens``, ``fast``); None: the
            family's default.
        init: a checkpoint to start from instead of random weights (``flow``).
        width: hidden size of the vision tower and the language model (``flow``); None: the
            family's default. The initial weights' spread follows it (1 / sqrt(width)).
        expert_width: hidden size of the action expert (``flow``); None: the default.
        joint_deltas: the samples' chunks are offsets from the observed joints (``flow``):
            statistics over every chunk row, and the checkpoint says so.
        min_std: floor of the stored standard deviations (``flow``); None: ``MIN_STD``.
        patch_px: side of the vision tower's patches, pixels (``flow``); None: the largest of
            16, 8 and 4 that divides the image side.
        pointing_readout: where pointing reads the VLM, ``'output'`` or ``'attended'``
            (``flow``, ``vla_ros.policies.flow.pointing``); None: the family's default.
        pointed_state: the model's own point at the named object fills two state slots, in
            training and at every inference (``flow``; needs ``pointing`` and co-training).
        point_at: further texts the pointed state points at, two slots each (``flow``).
    """

    steps: int | None
    batch_size: int | None
    learning_rate: float | None
    seed: int
    log_every: int
    threads: int
    progress: bool
    length_constrained: bool = False
    pointing: Path | None = None
    pointing_steps: int | None = None
    pointing_weight: float | None = None
    action_space: str | None = None
    init: Path | None = None
    width: int | None = None
    expert_width: int | None = None
    joint_deltas: bool = False
    min_std: float | None = None
    patch_px: int | None = None
    pointing_readout: str | None = None
    pointed_state: bool = False
    point_at: tuple[str, ...] = ()


class TrainingSettings(Protocol):
    """The fields every family's ``TrainingConfig`` has and the verb prints."""

    @property
    def steps(self) -> int:
        """Optimizer steps."""

    @property
    def batch_size(self) -> int:
        """Samples per step."""

    @property
    def learning_rate(self) -> float:
        """Peak AdamW learning rate."""

    @property
    def seed(self) -> int:
        """Seed of weights, batch order and noise."""

    @property
    def log_every(self) -> int:
        """Steps between loss reports."""

    @property
    def torch_threads(self) -> int:
        """Torch CPU threads during the run."""


@dataclass(frozen=True, slots=True)
class Trainer:
    """Where a family's trainer lives and which family-only options it takes.

    Attributes:
        module: the module with ``TrainingConfig`` and ``train``.
        own_options: the ``FAMILY_OPTIONS`` this family takes.
    """

    module: str
    own_options: frozenset[str] = frozenset()


@dataclass(frozen=True, slots=True)
class PreparedRun:
    """A family's effective settings and the call that trains with them.

    Attributes:
        settings: the family's ``TrainingConfig``, options applied.
        train: (samples, checkpoint directory, dt_s) -> what the run produced.
        shows_progress: whether a progress bar will be drawn.
    """

    settings: TrainingSettings
    train: Callable[[SampleSource, Path, float], TrainingResult]
    shows_progress: bool


#: Options only some families take: ``RunOptions`` field -> command-line flag.
FAMILY_OPTIONS: Mapping[str, str] = {
    'length_constrained': '--length-constrained', 'pointing': '--pointing',
    'pointing_steps': '--pointing-steps', 'pointing_weight': '--pointing-weight',
    'action_space': '--action-space', 'init': '--init', 'width': '--width',
    'expert_width': '--expert-width', 'joint_deltas': '--joint-deltas', 'min_std': '--min-std',
    'patch_px': '--patch', 'pointing_readout': '--pointing-readout',
    'pointed_state': '--pointed-state', 'point_at': '--point-at'}

_POINTING = frozenset({'pointing', 'pointing_steps', 'pointing_weight'})
_TOKEN_OPTIONS = _POINTING | {'action_space'}

#: The trainable families, in the order `--help` lists them.
TRAINERS: Mapping[PolicyFamily, Trainer] = {
    PolicyFamily.FLOW: Trainer('vla_ros.policies.flow.train',
                               _POINTING | {'init', 'width', 'expert_width', 'joint_deltas',
                                            'min_std', 'patch_px', 'pointing_readout',
                                            'pointed_state', 'point_at'}),
    PolicyFamily.TOKENS: Trainer('vla_ros.policies.tokens.train', _TOKEN_OPTIONS),
    PolicyFamily.FAST: Trainer('vla_ros.policies.fast.train',
                               _TOKEN_OPTIONS | {'length_constrained'}),
    PolicyFamily.DIFFUSION: Trainer('vla_ros.policies.diffusion.train'),
}


def prepare_run(family: PolicyFamily | str, options: RunOptions) -> PreparedRun:
    """The effective settings of training ``family`` with ``options``, ready to run.

    Raises:
        ConfigError: an unknown family, an option the family does not take, or a value its
            ``TrainingConfig`` refuses.
    """
    if family not in TRAINERS:
        raise ConfigError(f'--family: {str(family)!r}, expected one of {", ".join(TRAINERS)}')
    family = PolicyFamily(family)
    trainer = TRAINERS[family]
    for name, flag in FAMILY_OPTIONS.items():
        if getattr(options, name) not in (None, False, ()) and (
                name not in trainer.own_options):
            takers = ', '.join(other for other, each in TRAINERS.items()
                               if name in each.own_options)
            raise ConfigError(f'{flag}: the {family} family has no such setting '
                              f'(families that take it: {takers})')
    if options.pointing is None:
        for name, missing in (('pointing_steps', 'pre-training'),
                              ('pointing_weight', 'pointing loss'),
                              ('pointing_readout', 'pointing readout'),
                              ('pointed_state', 'pointing head to fill the state')):
            if getattr(options, name) not in (None, False, ()):
                raise ConfigError(f'{FAMILY_OPTIONS[name]}: without --pointing there is no '
                                  f'{missing}')
    module = importlib.import_module(trainer.module)
    config = _configure(module.TrainingConfig(), options)
    pointing = None
    if options.pointing is not None:
        from vla_ros.core.pointing_set import PointingSet

        pointing = PointingSet.load(options.pointing)
    extra: dict[str, Any] = {'length_constrained': options.length_constrained} if (
        'length_constrained' in trainer.own_options) else {}
    if options.init is not None:
        extra['init'] = options.init

    def train(samples: SampleSource, out_dir: Path, dt_s: float) -> TrainingResult:
        result: TrainingResult = module.train(
            samples, out_dir, dt_s=dt_s, config=config, progress=options.progress,
            pointing=pointing, **extra)
        return result

    return PreparedRun(config, train, shows_progress=options.progress)


def _configure(defaults: Any, options: RunOptions) -> Any:
    """``defaults`` (a family's ``TrainingConfig()``) with the options applied.

    Raises:
        ConfigError: a value the family's config refuses.
    """
    chosen = {'steps': options.steps, 'batch_size': options.batch_size,
              'learning_rate': options.learning_rate, 'pointing_weight': options.pointing_weight}
    config = replace(defaults, seed=options.seed, log_every=options.log_every,
                     torch_threads=options.threads,
                     **{name: value for name, value in chosen.items() if value is not None})
    if options.action_space is not None:
        from vla_ros.policies.tokens.config import ActionSpace

        config = replace(config, action_space=ActionSpace(options.action_space))
    if options.width is not None or options.expert_width is not None:  # flow
        size = config.size
        config = replace(config, size=replace(
            size, width=size.width if options.width is None else options.width,
            expert_width=size.expert_width if options.expert_width is None
            else options.expert_width,
            init_std=size.init_std if options.width is None else options.width ** -0.5))
    if options.patch_px is not None:  # flow
        config = replace(config, size=replace(config.size, patch_px=options.patch_px))
    if options.joint_deltas:  # flow
        config = replace(config, joint_deltas=True)
    if options.min_std is not None:  # flow
        config = replace(config, min_std=options.min_std)
    if options.pointing_readout is not None:  # flow
        config = replace(config, pointing_readout=options.pointing_readout)
    if options.pointed_state or options.point_at:  # flow
        config = replace(config, pointed_state=options.pointed_state,
                         point_at=tuple(options.point_at))
    if hasattr(config, 'pointing'):  # the families that can pre-train on pointing scenes
        config = replace(config, pointing=replace(
            config.pointing, seed=options.seed, steps=config.pointing.steps
            if options.pointing_steps is None else options.pointing_steps))
    return config
