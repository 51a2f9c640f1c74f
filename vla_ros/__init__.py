# SPDX-License-Identifier: Apache-2.0
# Copyright 2026 The vla_ros authors
"""vla_ros: deploy Vision-Language-Action policies on ROS 2 / ros2_control robots.

Layers; each imports only those below it (``test/test_layering.py`` parses every import of
every module, inside functions and under ``TYPE_CHECKING`` too, and fails on any other)::

    core  <-  policies, execution, sim, data  <-  ros  <-  cli

``core`` (numpy only): value types, config, errors, the Policy protocol, training samples,
statistics, pointing sets. ``policies``, ``execution``, ``sim`` and ``data`` are siblings that
share only ``core``. ``ros`` (the rclpy layer: nodes, convert, clients) wires the policy
registry, execution, sim and data together; ``cli`` (``vla-ros``, one module per verb) may use
every layer.

Where this differs from the style guide's picture (``core <- policies, execution, sim, data
<- ros <- cli``), and why:

- ``ros`` imports ``policies`` only for the registry: the policy node hands ``load_policy``
  to ``execution.policy_setup`` (a ``core.policy.PolicyLoader``), which loads, checks and
  warms up (``core.warm_up``) the configured family, so ``execution`` never imports
  ``policies``. The test has no exceptions.
- The types several siblings share live in ``core``, not in the sibling that uses them most:
  ``core.policy`` (``Policy``, ``PolicySpec``, ``GuidedPolicy``: families implement them,
  execution runs them, data replays them), ``core.training_samples`` (sim and data write
  samples, policies train on them), ``core.normalization`` (data exports statistics, policies
  normalise with them) and ``core.pointing_set`` (sim renders it, policies pre-train on it).
- Only ``ros`` imports rclpy or a message package, even inside a function or under
  ``TYPE_CHECKING``: ``cli`` verbs call ``ros`` functions that answer with plain values.
- Inside ``policies`` the families are independent, except ``fast`` (on the ``tokens`` VLM)
  and ``pi05`` (on ``flow``'s reader of the published pi0 layout). Shared family machinery
  (``device``, ``default_robot``, ``pointing``, ``training_result``) sits in ``policies/``.

Third-party libraries follow the layers: ``core`` imports numpy only; torch and transformers
appear only in ``policies``; mujoco only in ``sim``. The colcon build adds the generated
interfaces ``vla_ros.msg``, ``vla_ros.srv`` and ``vla_ros.action`` to this package; only
``ros`` imports them. ``pip install .`` (setup.cfg) packs the ROS-free layers (``core``,
``policies``, ``execution``, ``sim``, ``data``) without ``ros`` and ``cli``;
``test/test_wheel.py`` builds that wheel and imports every module of it with ROS absent.
"""
