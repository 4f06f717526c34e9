#!/usr/bin/env bash
# The consumer test: what a user who runs `npm install @attribution/...` gets. Packs every public package
# (`pnpm pack`, so `workspace:` ranges and publishConfig apply as on publish), installs the tarballs with npm
# into a fresh project (.ci/consumer) next to onnxruntime-node, onnxruntime-web, @tensorflow/tfjs, vite and
# typescript from the registry, then:
#   1. one onnxruntime-common is installed (the runtimes' own);
#   2. every public package's declarations and a browser page type-check with `skipLibCheck: false` (strict);
#   3. the Node file runs: Integrated Gradients on an ONNX model (onnxruntime-node and -web), on a TensorFlow.js
#      function model, and LLMAttribution on a model folder read from disk;
#   4. Vite bundles the browser page (@attribution/onnx + @attribution/text on onnxruntime-web) with no `node:`
#      import and no module externalized for browser compatibility;
#   5. the page runs in Debian's Chromium (skipped, with a note, where /usr/bin/chromium is missing outside CI);
#   6. the `attribution` command of @attribution/cli starts.
# Usage: .ci/consumer.sh [--keep]   (--keep leaves the temporary folder for inspection)
set -euo pipefail
cd "$(dirname "$0")/.."
ROOT=$PWD
KEEP=${1:-}
START=$SECONDS
WORK=$(mktemp -d "${TMPDIR:-/tmp}/attribution-consumer.XXXXXX")
if [[ "$KEEP" == --keep ]]; then echo "consumer: working in $WORK (kept)"; else trap 'rm -rf "$WORK"' EXIT; fi
step() { echo "consumer: $* ($((SECONDS - START)) s)"; }

step "building the public packages (cached after pnpm test)"
mapfile -t filters < <(node -e '
  const fs = require("fs");
  for (const d of fs.readdirSync("packages")) {
    const f = `packages/${d}/package.json`;
    if (fs.existsSync(f) && !JSON.parse(fs.readFileSync(f, "utf8")).private) console.log(`--filter=${JSON.parse(fs.readFileSync(f, "utf8")).name}`);
  }')
TURBO_TELEMETRY_DISABLED=1 pnpm turbo run build "${filters[@]}" --output-logs=errors-only >/dev/null

step "packing (.ci/pack.sh)"
.ci/pack.sh "$WORK/packs" >/dev/null

APP="$WORK/app"
cp -r .ci/consumer "$APP"
rm -rf "$APP/node_modules" "$APP/build" "$APP/dist"
mkdir -p "$APP/public/tiny-gpt/onnx"
cp packages/conformance/fixtures/real/breast_cancer.onnx "$APP/public/"
cp packages/text/fixtures/tiny-gpt/{config.json,tokenizer.json,tokenizer_config.json,special_tokens_map.json} "$APP/public/tiny-gpt/"
cp packages/text/fixtures/tiny-gpt/onnx/model.onnx "$APP/public/tiny-gpt/onnx/"
# The tarballs as dependencies (each one's @attribution/* dependencies resolve to the others, never the registry).
node -e '
  const fs = require("fs");
  const [app, packs] = process.argv.slice(1);
  const pkg = JSON.parse(fs.readFileSync(`${app}/package.json`, "utf8"));
  for (const file of fs.readdirSync(packs)) {
    const m = /^attribution-(.+)-\d+\.\d+\.\d+.*\.tgz$/.exec(file);
    if (m) pkg.dependencies[`@attribution/${m[1]}`] = `file:${packs}/${file}`;
  }
  fs.writeFileSync(`${app}/package.json`, JSON.stringify(pkg, null, 2));
' "$APP" "$WORK/packs"

step "npm install"
cd "$APP"
# onnxruntime-node's install script downloads CUDA parts (and fails offline); its CPU binaries ship in the package.
ONNXRUNTIME_NODE_INSTALL=skip npm install --no-audit --no-fund --loglevel=error

step "checks"
commons=$(find node_modules -type d -name onnxruntime-common | wc -l)
if [[ "$commons" != 1 ]]; then
  echo "consumer: $commons copies of onnxruntime-common installed:" >&2
  npm ls onnxruntime-common --all >&2 || true
  exit 1
fi

step "type-checking (skipLibCheck: false)"
npx --no-install tsc -p tsconfig.json          # every public package's declarations
npx --no-install tsc -p tsconfig.browser.json  # the browser page
npx --no-install tsc -p tsconfig.node.json     # the Node script, compiled to build/

step "running in Node"
node build/node.js

step "bundling for the browser with Vite"
npx --no-install vite build --logLevel warn 2>&1 | tee vite.log
if grep -E "externalized for browser compatibility|node:" vite.log; then
  echo "consumer: Vite reported Node modules in the browser bundle (above)" >&2
  exit 1
fi
if grep -lE "__vite-browser-external|(from|import)\s*\(?\s*[\"']node:" dist/assets/*.js; then
  echo "consumer: the browser bundle imports Node modules (files above)" >&2
  exit 1
fi

if [[ -x /usr/bin/chromium ]]; then
  step "running the page in Chromium"
  node check-browser.mjs dist "$ROOT/apps/docs"
elif [[ -n "${CI:-}" ]]; then
  echo "consumer: /usr/bin/chromium is missing (apt-get install -y chromium)" >&2
  exit 1
else
  echo "consumer: /usr/bin/chromium is missing: the browser page was built, not run"
fi

step "the attribution command"
npx --no-install attribution --help >/dev/null

step "passed"
