# SPDX-License-Identifier: Apache-2.0
# Copyright 2026 The vla_ros authors
"""The pi0.5 family: LeRobot ``"type": "pi05"`` folders as published.

pi0.5 (openpi) is PaliGemma plus an action expert whose RMS norms are conditioned on the flow
time (adaRMS), with the state discretised into the prompt and quantile normalisation.

Modules: ``config`` (normalisation, the policy's settings; numpy only), ``network`` (the torch
module on transformers' PaliGemma and Gemma layers, and its sampler), ``processor``
(observation -> prompt, tokens and pixels; output -> ``ActionChunk``), ``loading`` (the folder
-> network, every tensor accounted for), ``model`` (``Pi05Policy`` and the registry's ``load``).
Nothing here is imported by the package itself, so reading a folder stays torch-free.
"""

from __future__ import annotations

__all__ = ['config', 'loading', 'model', 'network', 'processor']
