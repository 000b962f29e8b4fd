#!/usr/bin/env bash
# Builds the go-control-plane reference server to build/bench/reference-server (modules come from the Go proxy).
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")"
out="$(cd ../.. && pwd)/build/bench/reference-server"
mkdir -p "$(dirname "$out")"
GOFLAGS="${GOFLAGS:+$GOFLAGS }-mod=mod" go build -o "$out" .
echo "$out"
