#!/usr/bin/env bash
# `npm publish --dry-run` of every public package's tarball (.ci/pack.sh), failing on any warning npm gives
# about a manifest (it would publish a corrected copy), then the release's own path, `pnpm publish -r
# --dry-run` (changesets publishes with pnpm). Needs built packages; no registry login.
set -euo pipefail
cd "$(dirname "$0")/.."
packs=$(mktemp -d "${TMPDIR:-/tmp}/attribution-packs.XXXXXX")
trap 'rm -rf "$packs"' EXIT
for tarball in $(.ci/pack.sh "$packs"); do
  out=$(npm publish --dry-run --access public "$tarball" 2>&1) || { echo "$out" >&2; exit 1; }
  if grep -E '^npm (warn|error)' <<<"$out" | grep -v 'requires you to be logged in'; then
    echo "publish-dry-run: npm warned about $(basename "$tarball") (above)" >&2
    exit 1
  fi
  grep -E '^\+ ' <<<"$out"
done
out=$(pnpm -r --filter './packages/*' publish --dry-run --no-git-checks --access public 2>&1) || { echo "$out" >&2; exit 1; }
grep -v '^\[WARN\] Skip publishing' <<<"$out" || true
echo "publish-dry-run: ok"
