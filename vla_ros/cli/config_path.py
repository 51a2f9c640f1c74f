# SPDX-License-Identifier: Apache-2.0
# Copyright 2026 The vla_ros authors
"""Where the CLI finds the default embodiment config."""

from __future__ import annotations

import argparse
from pathlib import Path
from typing import TYPE_CHECKING

from vla_ros.core.errors import ConfigError

if TYPE_CHECKING:
    from vla_ros.core.config import SimConfig, VlaConfig

__all__ = ['DEFAULT_CONFIG', 'add_config_argument', 'default_config_path', 'load_sim_config']

DEFAULT_CONFIG = 'tabletop_arm.yaml'


def default_config_path() -> Path:
    """config/tabletop_arm.yaml of the working directory, else of the installed package."""
    local = Path('config') / DEFAULT_CONFIG
    if local.is_file():
        return local
    from ament_index_python.packages import get_package_share_directory

    return Path(get_package_share_directory('vla_ros')) / 'config' / DEFAULT_CONFIG


def add_config_argument(parser: argparse.ArgumentParser) -> None:
    """Add ``--config`` (defaulting to the simulated tabletop arm)."""
    parser.add_argument('--config', type=Path, default=None,
                        help=f'embodiment YAML (default: config/{DEFAULT_CONFIG})')


def load_sim_config(path: Path | None, *, needed_for: str) -> tuple[VlaConfig, SimConfig]:
    """The config at ``path`` (None: the default) and its sim section, for in-process sim verbs.

    Raises:
        ConfigError: an invalid file, or one without a sim section (``needed_for`` says what
            needed it).
    """
    from vla_ros.core.config import load_config

    config = load_config(path or default_config_path())
    if config.sim is None:
        raise ConfigError(f'the config has no sim section; {needed_for} need sim.mjcf')
    return config, config.sim
