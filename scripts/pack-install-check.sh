#!/usr/bin/env bash
# Production-install check, standing in for `docker build` (Docker does not run on the
# project's machines). Two installs in an empty temporary folder, then the att CLI is run from
# there and scores rows with the bundled default model:
#
#   A. npm consumer: `npm pack` the project, `npm install --omit=dev <tarball>` in an empty
#      folder (ONNXRUNTIME_NODE_INSTALL=skip: a consumer's npm does not read our allowScripts),
#      run node_modules/.bin/att.
#   B. image: the Dockerfile's runtime stage replayed step by step (ENV, WORKDIR, COPY, RUN; the
#      build stage is this repository after `npm run build`), with /app mapped to a temporary
#      folder. COPY sources must pass .dockerignore. Then ENTRYPOINT + args are run.
#
# Both must print, row for row, what the repository's own build prints for the same CSV.
#
# usage: scripts/pack-install-check.sh [--skip-build] [--keep] [--json FILE] [--only consumer|image]
#                                      [--dockerfile FILE]
# npm fetches from its cache first (--prefer-offline); a warm cache needs no network.
set -euo pipefail
ROOT=$(cd "$(dirname "$0")/.." && pwd)
cd "$ROOT"

SKIP_BUILD=0 KEEP=0 JSON_OUT="" ONLY="" DOCKERFILE=Dockerfile
while [ $# -gt 0 ]; do
  case "$1" in
    --skip-build) SKIP_BUILD=1 ;;
    --keep) KEEP=1 ;;
    --json) JSON_OUT=$2; shift ;;
    --only) ONLY=$2; shift ;;
    --dockerfile) DOCKERFILE=$2; shift ;;
    *) echo "usage: $0 [--skip-build] [--keep] [--json FILE] [--only consumer|image] [--dockerfile FILE]" >&2; exit 2 ;;
  esac
  shift
done

TMP=$(mktemp -d "${TMPDIR:-/tmp}/att-pack-check.XXXXXX")
cleanup() { if [ "$KEEP" = 1 ]; then echo "kept $TMP"; else rm -rf "$TMP"; fi; }
trap cleanup EXIT

step() { printf '\n== %s\n' "$*"; }
fail() { echo "FAIL: $*" >&2; exit 1; }
now() { date +%s.%N; }
secs() { awk -v a="$1" -v b="$2" 'BEGIN { printf "%.1f", b - a }'; }
bytes() { du -sb "$1" | cut -f1; }
mib() { awk -v b="$1" 'BEGIN { printf "%.1f MiB", b / 1048576 }'; }
# npm 11 lists the dependencies' install scripts that the consumer's package.json does not cover.
quiet_npm() { grep -v '^npm warn install-scripts' || true; }

DEFAULT_MODEL=$(tr -d '[:space:]' < models/registry/DEFAULT)
[ -f "models/registry/$DEFAULT_MODEL/model.json" ] || fail "models/registry/DEFAULT names $DEFAULT_MODEL, which has no model.json"

if [ "$SKIP_BUILD" = 0 ]; then
  step "build (tsc -> dist/)"
  # tsc alone: npm run build would also regenerate the checked-in schemas/, under the feet of
  # test/schemas.test.ts, which must see them as committed.
  npx tsc -p tsconfig.build.json
fi
[ -f dist/cli.js ] || fail "dist/cli.js missing: run npm run build"

step "input rows (the default model's features, deterministic)"
CSV="$TMP/rows.csv"
node --input-type=module - "models/registry/$DEFAULT_MODEL/model.json" "$CSV" <<'EOF'
import { readFileSync, writeFileSync } from "node:fs";
const [card, out] = process.argv.slice(2);
const { features } = JSON.parse(readFileSync(card, "utf8"));
let seed = 12345;
const rnd = () => ((seed = (seed * 1103515245 + 12345) % 2147483648) / 2147483648);
const rows = [features.join(",")];
for (let i = 0; i < 200; i++) {
  rows.push(features.map((f) => {
    if (f === "account_active_period_in_minutes") return Math.round(rnd() * 2e6);
    if (f === "transfer_counts") return 1 + Math.floor(rnd() * 4);
    if (f === "tokens_type_counts") return 1 + Math.floor(rnd() * 2);
    return rnd() < 0.9 ? 0 : Math.round(rnd() * 1000);
  }).join(","));
}
// An exploit-like row: a brand-new sender moving many tokens many times.
rows.push(features.map((f) => (f === "account_active_period_in_minutes" ? 1 : f.endsWith("_value") ? 5e8 : 60)).join(","));
writeFileSync(out, rows.join("\n") + "\n");
console.log(`${rows.length - 1} rows, ${features.length} features`);
EOF
EXPECTED="$TMP/expected.jsonl"
node dist/cli.js model score --model "models/registry/$DEFAULT_MODEL" --input "$CSV" > "$EXPECTED" 2>/dev/null
ROWS=$(wc -l < "$EXPECTED")
[ "$ROWS" -eq 201 ] || fail "the repository's build scored $ROWS rows, expected 201"
grep -q '"prediction":"ANOMALY"' "$EXPECTED" || fail "no ANOMALY among the expected rows: the check rows do not exercise both outcomes"
grep -q '"prediction":"NORMAL"' "$EXPECTED" || fail "no NORMAL among the expected rows"

same_scores() { # $1 = label, $2 = file
  cmp -s "$EXPECTED" "$2" || { diff <(head -5 "$EXPECTED") <(head -5 "$2") >&2 || true; fail "$1: scores differ from the repository's build"; }
  echo "ok  $1: $(wc -l < "$2") rows, identical to the repository's build"
}

PACK_BYTES=null A_SECS=null A_BYTES=null A_BARE=""
B_SECS=null B_NM_BYTES=null B_APP_BYTES=null IMG_USER=""
if [ "$ONLY" != image ]; then
# ---------------------------------------------------------------------------------------------
step "A. npm pack + npm install --omit=dev <tarball> in an empty folder"
mkdir -p "$TMP/pack"
# --ignore-scripts: dist/ is built above; the prepack script would build it a second time.
npm pack --ignore-scripts --json --pack-destination "$TMP/pack" 2>/dev/null > "$TMP/pack.json"
TARBALL=$(ls "$TMP"/pack/*.tgz)
node --input-type=module - "$TMP/pack.json" "$DEFAULT_MODEL" <<'EOF' || fail "the tarball lacks files the runtime needs"
import { readFileSync } from "node:fs";
const [packJson, model] = process.argv.slice(2);
const [info] = JSON.parse(readFileSync(packJson, "utf8"));
const files = new Set(info.files.map((f) => f.path));
const need = [
  "package.json", "dist/cli.js", "dist/commands/score.js", "dist/model/load.js",
  "dist/tools/simulate/artifacts/TestToken.json", "dist/tools/simulate/artifacts/Batcher.json",
  "models/registry/DEFAULT", `models/registry/${model}/model.json`,
  `models/registry/${model}/model.onnx`, `models/registry/${model}/forest.json`,
];
const missing = need.filter((f) => !files.has(f));
const leaked = [...files].filter((f) => /(^|\/)(node_modules|\.venv|\.local)\//.test(f) || /\.(env|tgz)$/.test(f));
console.log(`${info.filename}: ${info.entryCount} files, ${(info.size / 1024).toFixed(0)} KiB packed, ${(info.unpackedSize / 1048576).toFixed(1)} MiB unpacked`);
if (missing.length) console.error(`missing from the tarball: ${missing.join(", ")}`);
if (leaked.length) console.error(`should not be in the tarball: ${leaked.slice(0, 5).join(", ")}`);
process.exit(missing.length || leaked.length ? 1 : 0);
EOF
PACK_BYTES=$(stat -c %s "$TARBALL")

CONSUMER="$TMP/consumer"
mkdir -p "$CONSUMER"
cp .npmrc "$CONSUMER/.npmrc"
echo '{ "name": "att-consumer", "private": true }' > "$CONSUMER/package.json"
t0=$(now)
(cd "$CONSUMER" && ONNXRUNTIME_NODE_INSTALL=skip npm install --omit=dev --prefer-offline --no-audit --no-fund "$TARBALL" 2>&1 | quiet_npm | tail -3)
A_SECS=$(secs "$t0" "$(now)")
echo "install: ${A_SECS} s"
[ -x "$CONSUMER/node_modules/.bin/att" ] || fail "node_modules/.bin/att missing"
if find "$CONSUMER/node_modules/onnxruntime-node" -iname '*cuda*' | grep -q .; then
  fail "onnxruntime-node downloaded CUDA files: ONNXRUNTIME_NODE_INSTALL=skip was not honoured"
fi
A_BYTES=$(bytes "$CONSUMER/node_modules")
echo "node_modules: $(mib "$A_BYTES") (unpruned)"

cd "$CONSUMER"
node_modules/.bin/att --help > "$TMP/help.txt" || fail "att --help exited non-zero"
for sub in ingest score enrich replay stats model; do grep -q "^  $sub" "$TMP/help.txt" || fail "att --help does not list $sub"; done
echo "ok  att --help lists ingest, score, enrich, replay, stats, model"
node_modules/.bin/att --version | grep -qx "$(node -p 'require("./node_modules/att-stream/package.json").version')" || fail "att --version"
node_modules/.bin/att model score --model "node_modules/att-stream/models/registry/$DEFAULT_MODEL" --input "$CSV" > "$TMP/a-model.jsonl" 2>/dev/null
same_scores "A: att model score --model node_modules/att-stream/models/registry/$DEFAULT_MODEL" "$TMP/a-model.jsonl"
ATT_MODEL_REGISTRY=node_modules/att-stream/models/registry node_modules/.bin/att model score --input "$CSV" > "$TMP/a-registry.jsonl" 2>/dev/null
same_scores "A: ATT_MODEL_REGISTRY=node_modules/att-stream/models/registry (DEFAULT model)" "$TMP/a-registry.jsonl"
if node_modules/.bin/att model score --input "$CSV" > /dev/null 2> "$TMP/a-bare.err"; then
  A_BARE="the bundled DEFAULT is found without ATT_MODEL_REGISTRY"
else
  A_BARE="without ATT_MODEL_REGISTRY the default registry is ./models/registry of the working directory: $(head -1 "$TMP/a-bare.err")"
fi
echo "note: $A_BARE"
cd "$ROOT"
fi

if [ "$ONLY" != consumer ]; then
# ---------------------------------------------------------------------------------------------
step "B. the Dockerfile's runtime stage, replayed in a temporary root"
IMG="$TMP/image"
mkdir -p "$IMG"
node --input-type=module - "$DOCKERFILE" runtime > "$TMP/steps.tsv" <<'EOF' || fail "cannot read the Dockerfile's runtime stage"
// Prints the build stage's WORKDIR and the runtime stage's instructions, one per line:
// KIND<TAB>ARGS (continuation lines joined, comments dropped).
import { readFileSync } from "node:fs";
const [file, stage] = process.argv.slice(2);
const lines = readFileSync(file, "utf8").replace(/\\\n/g, " ").split("\n").map((l) => l.trim());
let current = null, buildWorkdir = "/";
const out = [];
for (const line of lines) {
  if (!line || line.startsWith("#")) continue;
  const [, kind, args] = line.match(/^(\S+)\s*(.*)$/);
  const k = kind.toUpperCase();
  if (k === "FROM") { current = (args.match(/\sAS\s+(\S+)/i) ?? [])[1] ?? null; continue; }
  if (current === "build" && k === "WORKDIR") buildWorkdir = args;
  if (current === stage) out.push(`${k}\t${args}`);
}
if (out.length === 0) { console.error(`no stage named ${stage}`); process.exit(1); }
console.log(`BUILD_WORKDIR\t${buildWorkdir}`);
console.log(out.join("\n"));
EOF

# .dockerignore: Docker's rules, last match wins, "!" re-includes; a pattern matching a parent
# folder matches everything inside it.
ignored() { # $1 = path relative to the context
  local path=$1 verdict=0 pat neg prefix
  while IFS= read -r pat || [ -n "$pat" ]; do
    pat=${pat%%#*}; pat=$(echo "$pat" | xargs)
    [ -n "$pat" ] || continue
    neg=0; [ "${pat#!}" != "$pat" ] && { neg=1; pat=${pat#!}; }
    pat=${pat#/}
    prefix=$path
    while :; do
      # shellcheck disable=SC2053
      if [[ $prefix == $pat ]]; then verdict=$((1 - neg)); break; fi
      [ "${prefix%/*}" = "$prefix" ] && break
      prefix=${prefix%/*}
    done
  done < .dockerignore
  return $((1 - verdict))
}
map() { case "$1" in /*) echo "$IMG$1" ;; *) echo "$WORKDIR/$1" ;; esac; }

WORKDIR="$IMG" BUILD_WORKDIR=/ ENTRY="" CMD="" IMG_USER=root
declare -a ENVS=()
t0=$(now)
while IFS=$'\t' read -r kind args; do
  case "$kind" in
    BUILD_WORKDIR) BUILD_WORKDIR=$args ;;
    ARG | LABEL | EXPOSE | HEALTHCHECK | STOPSIGNAL) ;;
    USER) IMG_USER=$args ;;
    WORKDIR) WORKDIR=$(map "$args"); mkdir -p "$WORKDIR"; echo "WORKDIR $args" ;;
    ENV)
      for kv in $args; do
        k=${kv%%=*} v=${kv#*=}
        case "$v" in /*) v="$IMG$v" ;; esac
        export "$k=$v"; ENVS+=("$k=$v")
      done
      echo "ENV $args" ;;
    COPY)
      read -r -a words <<< "$args"
      from=""; srcs=()
      for w in "${words[@]}"; do
        case "$w" in --from=*) from=${w#--from=} ;; --*) ;; *) srcs+=("$w") ;; esac
      done
      dest=${srcs[-1]}; unset 'srcs[-1]'
      for s in "${srcs[@]}"; do
        if [ -n "$from" ]; then
          [ "$from" = build ] || fail "COPY --from=$from: only the build stage is known"
          rel=${s#"$BUILD_WORKDIR"/}
          [ "$rel" != "$s" ] || fail "COPY --from=build $s: not under the build stage's WORKDIR $BUILD_WORKDIR"
        else
          rel=$s
          if [ -d "$rel" ]; then
            while IFS= read -r f; do ignored "$f" && fail ".dockerignore excludes $f, which COPY $s needs"; done < <(find "$rel" -type f)
          else
            ignored "$rel" && fail ".dockerignore excludes $rel, which COPY needs"
          fi
        fi
        [ -e "$ROOT/$rel" ] || fail "COPY source $s not found ($rel)"
        target=$(map "$dest")
        if [ "${dest%/}" != "$dest" ] || [ "${#srcs[@]}" -gt 1 ]; then
          mkdir -p "$target"; target="$target/$(basename "$rel")"
        fi
        mkdir -p "$(dirname "$target")"
        if [ -d "$ROOT/$rel" ]; then mkdir -p "$target"; cp -a "$ROOT/$rel/." "$target/"; else cp -a "$ROOT/$rel" "$target"; fi
      done
      echo "COPY $args" ;;
    RUN)
      cmd=$(echo "$args" | sed -E 's/--mount=[^ ]+ //g')
      echo "RUN $cmd"
      case "$cmd" in *" /"*) fail "RUN with an absolute path cannot be replayed: $cmd" ;; esac
      (cd "$WORKDIR" && sh -c "${cmd//npm ci/npm ci --prefer-offline}" 2>&1 | quiet_npm | tail -5) || fail "RUN $cmd"
      ;;
    ENTRYPOINT) ENTRY=$args ;;
    CMD) CMD=$args ;;
    *) fail "Dockerfile instruction $kind is not handled by this check" ;;
  esac
done < "$TMP/steps.tsv"
B_SECS=$(secs "$t0" "$(now)")
[ "$IMG_USER" != root ] || fail "the runtime stage runs as root"
[ -n "$ENTRY" ] || fail "no ENTRYPOINT"
mapfile -t ENTRY_ARGS < <(node -e 'for (const a of JSON.parse(process.argv[1])) console.log(a.startsWith("/") ? process.argv[2] + a : a)' "$ENTRY" "$IMG")
mapfile -t CMD_ARGS < <(node -e 'for (const a of JSON.parse(process.argv[1] || "[]")) console.log(a)' "$CMD")
APP=$WORKDIR
if find "$APP/node_modules/onnxruntime-node" -iname '*cuda*' | grep -q .; then
  fail "image: onnxruntime-node downloaded CUDA files"
fi
B_NM_BYTES=$(bytes "$APP/node_modules")
B_APP_BYTES=$(bytes "$APP")
echo "runtime stage: ${B_SECS} s; node_modules $(mib "$B_NM_BYTES"), /app $(mib "$B_APP_BYTES")"
echo "entrypoint: ${ENTRY} ${CMD}; user: ${IMG_USER}"
[ -d "$APP/model-tools" ] && fail "image: model-tools (Python) should not be in the runtime image"

cd "$TMP" # another working directory than /app: the image must not depend on it
"${ENTRY_ARGS[@]}" --help > "$TMP/b-help.txt" || fail "image: ENTRYPOINT --help exited non-zero"
"${ENTRY_ARGS[@]}" "${CMD_ARGS[@]}" --help > /dev/null || fail "image: ENTRYPOINT CMD --help (the default command) exited non-zero"
echo "ok  image: $(basename "${ENTRY_ARGS[-1]}") --help, and the default command (${CMD_ARGS[*]}) exists"
"${ENTRY_ARGS[@]}" model inspect > "$TMP/b-inspect.txt" 2>&1 || { cat "$TMP/b-inspect.txt" >&2; fail "image: att model inspect (verifies the bundled default model's hashes)"; }
grep -q "$DEFAULT_MODEL" "$TMP/b-inspect.txt" || fail "image: att model inspect does not name $DEFAULT_MODEL"
echo "ok  image: att model inspect verifies the bundled default model $DEFAULT_MODEL"
"${ENTRY_ARGS[@]}" model score --input "$CSV" > "$TMP/b-default.jsonl" 2>/dev/null
same_scores "image: att model score --input rows.csv (DEFAULT model, cwd outside /app)" "$TMP/b-default.jsonl"
cd "$ROOT"
fi

step "summary"
SUMMARY=$(cat <<EOF
{
  "work_dir": "$TMP",
  "image_app_dir": "$TMP/image/app",
  "default_model": "$DEFAULT_MODEL",
  "rows_scored": $ROWS,
  "tarball_bytes": $PACK_BYTES,
  "consumer_install_seconds": $A_SECS,
  "consumer_node_modules_bytes": $A_BYTES,
  "image_runtime_stage_seconds": $B_SECS,
  "image_node_modules_bytes": $B_NM_BYTES,
  "image_app_bytes": $B_APP_BYTES,
  "image_user": "$IMG_USER",
  "consumer_default_registry": $(node -p 'JSON.stringify(process.argv[1])' "$A_BARE")
}
EOF
)
echo "$SUMMARY"
[ -z "$JSON_OUT" ] || echo "$SUMMARY" > "$JSON_OUT"
echo "pack-install-check: all checks passed"
