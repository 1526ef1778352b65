#!/usr/bin/env bash
# buf breaking: the contracts of the working tree against those where this branch left
# BUF_AGAINST (default main); on that branch itself, against the commit before.
# Says so and passes when there is nothing to compare with (no such branch, no earlier
# commit, e.g. a shallow clone, or no protos/ there yet).
# Usage: tools/buf/breaking.sh BUF PYTHON CURRENT_PROTOSET
set -euo pipefail
buf=$1 python=$2 current=$3
against=${BUF_AGAINST:-main}

skip() { echo "buf breaking: $1; nothing to compare with"; exit 0; }

base=$(git merge-base HEAD "$against" 2>/dev/null) || skip "no common history with $against"
if [ "$base" = "$(git rev-parse HEAD)" ]; then
  base=$(git rev-parse --verify --quiet HEAD^) || skip "no commit before HEAD"
fi
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
git archive "$base" protos 2>/dev/null | tar -x -C "$tmp" || skip "no protos/ at $base"
"$python" tools/gen_protos.py --protos "$tmp/protos" --protoset "$tmp/against.binpb"
echo "buf breaking: against $(git log -1 --format='%h %s' "$base")"
"$buf" breaking "$current#format=binpb" --against "$tmp/against.binpb#format=binpb" \
  --config protos/buf.yaml --path airspace
