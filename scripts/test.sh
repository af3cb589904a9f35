#!/usr/bin/env bash
# The whole test suite: static checks, unit tests, integration tests against
# real QEMU guests, and the browser tests in Debian's chromium.
# Run scripts/setup.sh first (the README's second command does both).
set -uo pipefail
cd "$(dirname "$0")/.."

failed=()
# Each step's output is kept too: what failed is said again at the end, in a
# few lines a test, where a CI log's tail shows it (scripts/failures.mjs).
LOGS=.cache/test-logs
rm -rf "$LOGS" && mkdir -p "$LOGS"
step() { # step NAME COMMAND...
	local name=$1; shift
	printf '\n=== %s\n' "$name"
	local t0=$SECONDS
	if "$@" 2>&1 | tee "$LOGS/${name// /-}.log"; then printf '=== %s: ok (%ss)\n' "$name" $((SECONDS - t0)); else
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
step "unit tests" node --import tsx --test --test-reporter=tap --test-concurrency=1 "${unit[@]}"
# Every process the tests start inherits this mark (QEMU, swtpm, sshd too):
# a test file stopped at its time limit does not run its after(), so what
# it started is ended here, and named, before the next step.
export VMDECK_TEST_SUITE="$$-$RANDOM"
reap() {
	local pid left=()
	for pid in $(grep -lzx "VMDECK_TEST_SUITE=$VMDECK_TEST_SUITE" /proc/[0-9]*/environ 2>/dev/null | cut -d/ -f3); do
		[[ $pid == "$$" || $pid == "$BASHPID" || ! -e /proc/$pid ]] && continue
		left+=("$pid $(tr '\0' ' ' </proc/"$pid"/cmdline 2>/dev/null | cut -c1-120)")
		kill -KILL "$pid" 2>/dev/null
	done
	if ((${#left[@]})); then
		printf 'left running by the %s, ended:\n' "$1"
		printf '  %s\n' "${left[@]}"
	fi
	return 0
}
# One file at a time: each boots real QEMU guests, and the machine has 2 cores.
step "integration tests" node --import tsx --test --test-reporter=tap --test-concurrency=1 --test-timeout=600000 "${integration[@]}"
reap "integration tests"
if [[ -f playwright.config.ts ]]; then
	step "browser tests" npx playwright test
	reap "browser tests"
fi

if ((${#failed[@]})); then
	for name in "${failed[@]}"; do
		printf '\n=== what failed in the %s\n' "$name"
		case $name in
		"browser tests") node scripts/failures.mjs json "$LOGS/browser.json" ;;
		"unit tests" | "integration tests") node scripts/failures.mjs tap "$LOGS/${name// /-}.log" ;;
		*) tail -n 8 "$LOGS/${name// /-}.log" ;;
		esac
	done
	printf '\nFAILED: %s\n' "${failed[*]}"
	exit 1
fi
printf '\nall test steps passed\n'
