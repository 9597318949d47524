#!/usr/bin/env bash
# The README's test command (`npm test`). Does its own set-up on a fresh machine: installs what
# is missing (npm packages, Redis, Prometheus and promtool, the Kafka jars, Chromium, the Python
# model tooling; the prometheus-* tests run promtool and Prometheus), starts the local
# stack (Kafka, Redis, anvil) if it is not running, then runs lint, type checks and every test
# against the real services. The stack is left running for the next run; stop it with
# `deploy/local/stack.sh stop`.
set -euo pipefail
cd "$(dirname "$0")/../.."

REPORTS="${ATT_LOCAL_DIR:-.local}/reports"
mkdir -p "$REPORTS"
rm -f "$REPORTS/vitest.json" "$REPORTS/test-step" "$REPORTS/faults.jsonl"
# The step in progress is kept in a file: .ci/run names it at the very end of a failed run.
step() {
  printf '%s\n' "$*" >"$REPORTS/test-step"
  printf '\n\033[1m== %s\033[0m\n' "$*"
}

step "dependencies"
# onnxruntime-node's install script would fetch CUDA libraries from NuGet: package.json's
# allowScripts denies it to npm 11, and ONNXRUNTIME_NODE_INSTALL=skip ends it under any npm.
[ -d node_modules/kafkajs ] || ONNXRUNTIME_NODE_INSTALL=skip npm ci
deploy/local/stack.sh install
deploy/local/stack.sh install-browser
model-tools/setup.sh
examples/python-subscriber/setup.sh # the findings subscriber in Python (test/python-subscriber.test.ts)

step "local stack"
deploy/local/stack.sh start

step "lint and types"
npm run --silent lint
npm run --silent typecheck
npx tsx scripts/gen-schemas.ts --check # the published JSON Schemas are the zod contracts (docs/contracts.md)

if [ ! -d ../shared/data ]; then
  echo "NOTE: ../shared/data is absent: tests that need the real mainnet data and the original ATT model will be skipped (each says so)."
fi

step "TypeScript tests (vitest, real Kafka/Redis/anvil)"
# The JSON report lets scripts/test-failures.mjs list what failed after everything else is printed.
npx vitest run --reporter=default --reporter=json --outputFile.json="$REPORTS/vitest.json"
# One row per fault-injection case (test/faults): N in, findings, duplicates, missing, DLQ, recovery.
node scripts/fault-table.mjs "$REPORTS/faults.jsonl"

step "Python model tooling tests (pytest)"
# The older scikit-learn the bring-your-own-model tests train and import with (created once under
# .local/sklearn-envs/, ~2 min from nothing, with progress here instead of inside pytest).
model-tools/.venv/bin/python -c "from att_model import venvs; venvs.python_for('1.3.2')"
model-tools/.venv/bin/python -m pytest -q model-tools/tests

step "benchmarks, quick smoke run (npm run bench -- --quick; figures in .local/bench/quick/)"
# Proves every benchmark still runs end to end on this stack; its figures are not compared here
# (speed is judged by the full `npm run bench`, never by a test).
npm run --silent bench -- --quick

step "local stack scripts"
bash test/local-stack.sh

rm -f "$REPORTS/test-step"
echo
echo "All tests passed."
