# SPDX-License-Identifier: Apache-2.0
# Copyright 2026 The vla_ros authors
# Put this shell into the vla_ros environment made by scripts/setup:
#   source scripts/env.sh
# It activates .venv (Python, the ROS 2 wheels, torch, MuJoCo), points ament/CMake at it,
# and sources the colcon install of this package (our modules and generated interfaces).
# On a machine with a real ROS 2 install, source /opt/ros/<distro>/setup.bash and the
# workspace's install/setup.bash instead.

_vla_root="$(cd "$(dirname "${BASH_SOURCE[0]:-$0}")/.." && pwd)"
if [ ! -x "$_vla_root/.venv/bin/python" ]; then
  echo "vla_ros: no .venv in $_vla_root; run scripts/setup first" >&2
  return 1 2>/dev/null || exit 1
fi
# shellcheck disable=SC1091
source "$_vla_root/.venv/bin/activate"
export AMENT_PREFIX_PATH="$VIRTUAL_ENV${AMENT_PREFIX_PATH:+:$AMENT_PREFIX_PATH}"
export CMAKE_PREFIX_PATH="$VIRTUAL_ENV${CMAKE_PREFIX_PATH:+:$CMAKE_PREFIX_PATH}"
export RMW_IMPLEMENTATION="${RMW_IMPLEMENTATION:-rmw_fastrtps_cpp}"
# Keep DDS discovery on this machine unless the caller says otherwise.
export ROS_AUTOMATIC_DISCOVERY_RANGE="${ROS_AUTOMATIC_DISCOVERY_RANGE:-LOCALHOST}"
# MuJoCo picks its GL backend at import time: software rendering without a display or GPU.
export MUJOCO_GL="${MUJOCO_GL:-osmesa}"
if [ -f "$_vla_root/install/setup.bash" ] && [ -n "${BASH_VERSION:-}" ]; then
  # shellcheck disable=SC1091
  source "$_vla_root/install/setup.bash"
fi
unset _vla_root
