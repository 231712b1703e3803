#!/usr/bin/env bash
# Runs `systemd-analyze verify` on systemd/banditd.service, as CI does on a fresh Debian bookworm
# (as root). Installs systemd's tools when they are missing.
#
# verify insists that ExecStart's binary exists. When /usr/local/bin/banditd is installed the unit
# is verified as it is; otherwise a copy whose ExecStart points at a placeholder in a temporary
# directory is verified (same name, every other line identical). Nothing is created outside the
# repository except that temporary directory, which is removed on exit.
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
unit=$here/banditd.service
binary=/usr/local/bin/banditd

if ! command -v systemd-analyze >/dev/null; then
  SUDO=""; [ "$(id -u)" = 0 ] || SUDO=sudo
  $SUDO apt-get update
  $SUDO env DEBIAN_FRONTEND=noninteractive apt-get install -y --no-install-recommends systemd
fi

scratch=$(mktemp -d)
trap 'rm -rf "$scratch"' EXIT

target=$unit
if [ ! -x "$binary" ]; then
  printf '#!/bin/sh\nexit 0\n' >"$scratch/banditd"
  chmod 0755 "$scratch/banditd"
  sed "s|^ExecStart=$binary |ExecStart=$scratch/banditd |" "$unit" >"$scratch/banditd.service"
  grep -q "^ExecStart=$scratch/banditd " "$scratch/banditd.service" || { echo "verify.sh: no ExecStart=$binary line in $unit" >&2; exit 1; }
  target=$scratch/banditd.service
  echo "($binary is not installed: verifying a copy whose ExecStart runs a placeholder)"
fi

# Any output is a problem: an unknown or misspelt setting is only a warning, and systemd would
# silently ignore it.
status=0
output=$(systemd-analyze verify --man=no "$target" 2>&1) || status=$?
if [ "$status" -ne 0 ] || [ -n "$output" ]; then
  echo "$output"
  echo "systemd-analyze verify banditd.service: FAILED (exit $status)" >&2
  exit 1
fi
echo "systemd-analyze verify banditd.service: OK ($(systemd-analyze --version | head -n 1))"
