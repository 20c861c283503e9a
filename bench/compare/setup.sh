#!/usr/bin/env bash
# Installs what the side-by-side comparisons need beyond scripts/setup.sh (not used by CI):
# Debian's PyTorch for the CPU baselines.
set -euo pipefail
bash "$(dirname "$0")/../../scripts/setup.sh"
if ! dpkg-query -W -f='${Status}' python3-torch 2>/dev/null | grep -q "install ok installed"; then
  apt-get update -q
  DEBIAN_FRONTEND=noninteractive apt-get install -y -q --no-install-recommends python3-torch
fi
