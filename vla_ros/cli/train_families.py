# SPDX-License-Identifier: Apache-2.0
# Copyright 2026 The vla_ros authors
"""The families `vla-ros train` trains: how the verb's options reach each family's trainer.

Each family entry builds that family's own ``TrainingConfig`` (its defaults stand for every
option left unset) and returns it with a function that runs the family's ``train`` on the
samples, so the verb can print the effective settings before it reads any data. Options only
some families have (``--length-constrained``: ``fast``) are refused for the others with a
``ConfigError``, never ignored. Family modules (torch, transformers) are imported only when a
run is prepared, so ``vla-ros --help`` stays fast.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Protocol, TYPE_CHECKING, TypeVar

from vla_ros.core.errors import ConfigError

if TYPE_CHECKING:
    from _typeshed import DataclassInstance

    from vla_ros.core.pointing_set import PointingSet
    from vla_ros.core.training_samples import SampleSource
    from vla_ros.policies.pointing import PointingConfig
    from vla_ros.policies.tokens.teacher_forcing import TrainingConfig as TokenTrainingConfig
    from vla_ros.policies.training_result import TrainingResult

__all__ = [
    'FAMILIES', 'FAMILY_OPTIONS', 'FamilyEntry', 'PreparedRun', 'RunOptions',
    'TrainingSettings', 'prepare_run',
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
        progress: draw a progress bar on stderr (families that have one).
        length_constrained: store length-constrained decoding in the checkpoint (``fast``).
        pointing: a pointing set (``vla-ros pointing``) to pre-train the VLM on (``flow``).
        pointing_steps: steps of that pre-training; None: the family's default.
        pointing_weight: weight of the pointing loss kept during the action training
            (``tokens``, ``fast``); None: the family's default (0, none).
        action_space: ``absolute`` or ``delta`` chunk rows (``tokens``, ``fast``); None: the
            family's default.
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


#: Runs a prepared family's training: (samples, checkpoint directory, dt_s) -> outcome.
Trainer = Callable[['SampleSource', Path, float], 'TrainingResult']


@dataclass(frozen=True, slots=True)
class PreparedRun:
    """A family's effective settings and the call that trains with them.

    Attributes:
        settings: the family's ``TrainingConfig``, options applied.
        train: trains on samples and writes the checkpoint.
        shows_progress: whether a progress bar will be drawn.
    """

    settings: TrainingSettings
    train: Trainer
    shows_progress: bool


@dataclass(frozen=True, slots=True)
class FamilyEntry:
    """How the verb trains one family.

    Attributes:
        prepare: builds the family's config from the options and binds its ``train``.
        draws_progress: the family's trainer draws a progress bar.
        own_options: the ``FAMILY_OPTIONS`` this family takes.
    """

    prepare: Callable[[RunOptions], tuple[TrainingSettings, Trainer]]
    draws_progress: bool
    own_options: frozenset[str] = frozenset()


#: Options only some families take: ``RunOptions`` field -> command-line flag.
FAMILY_OPTIONS: Mapping[str, str] = {
    'length_constrained': '--length-constrained', 'pointing': '--pointing',
    'pointing_steps': '--pointing-steps', 'pointing_weight': '--pointing-weight',
    'action_space': '--action-space'}

_Config = TypeVar('_Config', bound='DataclassInstance')
_PointedConfig = TypeVar('_PointedConfig', bound='_PointedDataclass')

if TYPE_CHECKING:
    class _PointedDataclass(DataclassInstance, Protocol):
        """A family ``TrainingConfig`` that can pre-train on pointing scenes."""

        @property
        def pointing(self) -> PointingConfig:
            """The pointing pre-training settings."""


def _configure(defaults: _Config, options: RunOptions) -> _Config:
    """``defaults`` (a family's ``TrainingConfig()``) with the options applied.

    Raises:
        ConfigError: a value the family's config refuses.
    """
    sizing = {'steps': options.steps, 'batch_size': options.batch_size,
              'learning_rate': options.learning_rate}
    return replace(defaults, seed=options.seed, log_every=options.log_every,
                   torch_threads=options.threads,
                   **{name: value for name, value in sizing.items() if value is not None})


def _pointing(options: RunOptions,
              config: _PointedConfig) -> tuple[_PointedConfig, PointingSet | None]:
    """``config`` with the pointing options applied, and the pointing set to pre-train on."""
    from vla_ros.core.pointing_set import PointingSet

    pointing, pointing_steps = options.pointing, options.pointing_steps
    if pointing_steps is not None and pointing is None:
        raise ConfigError('--pointing-steps: without --pointing there is no pre-training')
    if options.pointing_weight is not None and pointing is None:
        raise ConfigError('--pointing-weight: without --pointing there is no pointing loss')
    config = replace(config, pointing=replace(
        config.pointing, seed=options.seed,
        steps=config.pointing.steps if pointing_steps is None else pointing_steps))
    return config, None if pointing is None else PointingSet.load(pointing)


def _flow(options: RunOptions) -> tuple[TrainingSettings, Trainer]:
    from vla_ros.policies.flow.train import train, TrainingConfig

    config, pointing = _pointing(options, _configure(TrainingConfig(), options))
    return config, lambda samples, out_dir, dt_s: train(
        samples, out_dir, dt_s=dt_s, config=config, progress=options.progress,
        pointing=pointing)


def _token_config(options: RunOptions, defaults: TokenTrainingConfig) -> TokenTrainingConfig:
    """A token family's ``defaults`` with the options applied, ``--action-space`` included."""
    from vla_ros.policies.tokens.config import ActionSpace

    config = _configure(defaults, options)
    if options.action_space is not None:
        config = replace(config, action_space=ActionSpace(options.action_space))
    if options.pointing_weight is not None:
        config = replace(config, pointing_weight=options.pointing_weight)
    return config


def _tokens(options: RunOptions) -> tuple[TrainingSettings, Trainer]:
    from vla_ros.policies.tokens.teacher_forcing import TrainingConfig
    from vla_ros.policies.tokens.train import train

    config, pointing = _pointing(options, _token_config(options, TrainingConfig()))
    return config, lambda samples, out_dir, dt_s: train(
        samples, out_dir, dt_s=dt_s, config=config, pointing=pointing)


def _fast(options: RunOptions) -> tuple[TrainingSettings, Trainer]:
    from vla_ros.policies.fast.train import train
    from vla_ros.policies.tokens.teacher_forcing import TrainingConfig

    config, pointing = _pointing(options, _token_config(options, TrainingConfig()))
    return config, lambda samples, out_dir, dt_s: train(
        samples, out_dir, dt_s=dt_s, config=config,
        length_constrained=options.length_constrained, pointing=pointing)


def _diffusion(options: RunOptions) -> tuple[TrainingSettings, Trainer]:
    from vla_ros.policies.diffusion.train import train, TrainingConfig

    config = _configure(TrainingConfig(), options)
    return config, lambda samples, out_dir, dt_s: train(
        samples, out_dir, dt_s=dt_s, config=config, progress=options.progress)


#: The trainable families, in the order `--help` lists them.
FAMILIES: Mapping[str, FamilyEntry] = {
    'flow': FamilyEntry(_flow, draws_progress=True,
                        own_options=frozenset({'pointing', 'pointing_steps'})),
    'tokens': FamilyEntry(_tokens, draws_progress=False,
                          own_options=frozenset({'pointing', 'pointing_steps',
                                                 'pointing_weight', 'action_space'})),
    'fast': FamilyEntry(_fast, draws_progress=False,
                        own_options=frozenset({'length_constrained', 'pointing',
                                               'pointing_steps', 'pointing_weight',
                                               'action_space'})),
    'diffusion': FamilyEntry(_diffusion, draws_progress=True),
}


def prepare_run(family: str, options: RunOptions) -> PreparedRun:
    """The effective settings of training ``family`` with ``options``, ready to run.

    Raises:
        ConfigError: an unknown family, an option the family does not take, or a value its
            ``TrainingConfig`` refuses.
    """
    if family not in FAMILIES:
        raise ConfigError(f'--family: {family!r}, expected one of {", ".join(FAMILIES)}')
    entry = FAMILIES[family]
    for name, flag in FAMILY_OPTIONS.items():
        if getattr(options, name) not in (None, False) and name not in entry.own_options:
            takers = ', '.join(other for other, each in FAMILIES.items()
                               if name in each.own_options)
            raise ConfigError(f'{flag}: the {family} family has no such setting '
                              f'(families that take it: {takers})')
    settings, trainer = entry.prepare(options)
    return PreparedRun(settings, trainer, shows_progress=options.progress and entry.draws_progress)
