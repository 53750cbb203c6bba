#!/usr/bin/env bash
# Builds bench/porcupine/main.go against a local checkout of Porcupine (no network needed):
#   bench/porcupine/build.sh <porcupine checkout> <output binary>
# The checkout is not part of this repository (MIT licence, github.com/anishathalye/porcupine).
set -euo pipefail
src="$(cd "$(dirname "$0")" && pwd)"
checkout="$(cd "$1" && pwd)"
out="$2"
work="$(mktemp -d)"
trap 'rm -rf "$work"' EXIT
cp "$src/main.go" "$work/"
cat > "$work/go.mod" <<MOD
module stackraft.test/porcupinebench

go 1.16

require github.com/anishathalye/porcupine v0.0.0

replace github.com/anishathalye/porcupine => $checkout
MOD
(cd "$work" && GOFLAGS=-mod=mod GOPROXY=off go build -o "$out" .)
