#!/usr/bin/env bash
# The dashboard with a ready demo VM: makes the demo guest's VM (once) through
# the generator, starts it, and serves the dashboard on HOST:PORT (default
# 127.0.0.1:3000), printing the login URL. Run scripts/setup.sh first (the
# README's first command does both).
set -euo pipefail
cd "$(dirname "$0")/.."

vmdeck() { node bin/vmdeck.js "$@"; }

KERNEL='' INITRD='' APPEND=''
while IFS='=' read -r key value; do
	case $key in KERNEL | INITRD | APPEND) printf -v "$key" '%s' "$value" ;; esac
done < <(bash scripts/build-guest.sh amd64)
if ! vmdeck enumerate --json | grep -q '"label": "demo"'; then
	INST_KERNEL=$KERNEL INST_INITRD=$INITRD INST_APPEND=$APPEND DIST=busybox OS=Linux \
		vmdeck create-conf --label demo --template kernel-initrd --auto-all
fi
vmdeck start demo --reuse
exec node bin/vmdeck.js serve "$@"
