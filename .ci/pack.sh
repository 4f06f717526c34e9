#!/usr/bin/env bash
# Packs every public package (packages/* without "private": true) into a folder, as `pnpm publish` would
# (workspace: ranges replaced by versions, publishConfig applied). Needs built packages (`pnpm build`).
# Usage: .ci/pack.sh <folder>   — prints the tarballs' paths.
set -euo pipefail
cd "$(dirname "$0")/.."
dest=${1:?usage: .ci/pack.sh <folder>}
mkdir -p "$dest"
dest=$(cd "$dest" && pwd)
for dir in packages/*/; do
  [[ -f "$dir/package.json" ]] || continue
  if node -e 'process.exit(require(process.argv[1]).private ? 0 : 1)' "$PWD/$dir/package.json"; then continue; fi
  [[ -f "$dir/dist/index.js" ]] || { echo "pack: $dir is not built (run pnpm build)" >&2; exit 1; }
  (cd "$dir" && pnpm pack --pack-destination "$dest" >/dev/null)
done
for tarball in "$dest"/*.tgz; do
  # A published manifest keeps no workspace: range and no source-only condition.
  if tar -xzOf "$tarball" package/package.json | grep -E '"workspace:|attribution-source' >/dev/null; then
    echo "pack: $tarball's package.json still has workspace: ranges or the attribution-source condition" >&2
    exit 1
  fi
  echo "$tarball"
done
