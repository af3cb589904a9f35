#!/usr/bin/env bash
# The whole test suite: static checks, unit tests, integration tests against
# real QEMU guests, and the browser tests in Debian's chromium.
# Run scripts/setup.sh first (the README's second command does both).
set -uo pipefail
cd "$(dirname "$0")/.."

failed=()
step() { # step NAME COMMAND...
	local name=$1; shift
	printf '\n=== %s\n' "$name"
	local t0=$SECONDS
	if "$@"; then printf '=== %s: ok (%ss)\n' "$name" $((SECONDS - t0)); else
		printf '=== %s: FAILED (%ss)\n' "$name" $((SECONDS - t0)); failed+=("$name"); fi
}

step "wrapper body in sync" node scripts/gen-wrapper.mjs --check
step "wrapper bash syntax" bash -n lib/wrapper/body.sh
step "KVM probe image in sync" node scripts/gen-kvm-probe.mjs --check
step "typecheck" npx tsc --noEmit -p .
# Node 20's test runner takes file names, not globs.
tests() { find "$1" -name '*.test.ts' -print | sort; }
mapfile -t unit < <(tests test/unit)
mapfile -t integration < <(tests test/integration)
step "unit tests" node --import tsx --test --test-concurrency=1 "${unit[@]}"
# One file at a time: each boots real QEMU guests, and the machine has 2 cores.
step "integration tests" node --import tsx --test --test-concurrency=1 --test-timeout=600000 "${integration[@]}"
if [[ -f playwright.config.ts ]]; then
	step "browser tests" npx playwright test
fi

if ((${#failed[@]})); then
	printf '\nFAILED: %s\n' "${failed[*]}"
	exit 1
fi
printf '\nall test steps passed\n'
