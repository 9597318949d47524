#!/usr/bin/env bash
# The README's first command (`npm run demo`). On a fresh machine it installs what is missing
# (npm packages, Redis, the Kafka jars), starts the local stack (Kafka, Redis, anvil) if it is
# not running, builds, and runs `att demo` (docs/demo.md). Arguments go to `att demo`:
#   npm run demo -- --duration 60 --json
# The stack keeps running afterwards; stop it with `deploy/local/stack.sh stop`.
set -euo pipefail
cd "$(dirname "$0")/../.."

# onnxruntime-node's install script would fetch CUDA libraries from NuGet: package.json's
# allowScripts denies it to npm 11, and ONNXRUNTIME_NODE_INSTALL=skip ends it under any npm.
[ -d node_modules/kafkajs ] || ONNXRUNTIME_NODE_INSTALL=skip npm ci --no-audit --no-fund
deploy/local/stack.sh start
npm run --silent build
exec node dist/cli.js demo "$@"
