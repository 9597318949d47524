#!/bin/sh
# Removes what a production install carries but this platform never loads: onnxruntime-node
# ships its native binding for every OS and CPU (darwin, win32, linux; x64, arm64: ~290 MB);
# only bin/napi-v*/<platform>/<arch> is used at run time. Run from the folder that holds
# node_modules (the image's /app). Used by the Dockerfile's runtime stage and by
# scripts/pack-install-check.sh, which then scores rows with the pruned install.
set -eu
ort=node_modules/onnxruntime-node/bin
[ -d "$ort" ] || { echo "prune-runtime: $ort not found (run after npm ci)" >&2; exit 1; }
keep=$(node -p 'process.platform + "/" + process.arch')
found=0
for napi in "$ort"/napi-v*; do
  for os in "$napi"/*; do
    for arch in "$os"/*; do
      [ -d "$arch" ] || continue
      case "$arch" in
        "$napi/$keep") found=1 ;;
        *) rm -rf "$arch" ;;
      esac
    done
    rmdir "$os" 2>/dev/null || true
  done
done
[ "$found" = 1 ] || { echo "prune-runtime: no onnxruntime-node binary for $keep" >&2; exit 1; }
echo "prune-runtime: kept onnxruntime-node binaries for $keep"
