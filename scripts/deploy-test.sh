#!/usr/bin/env bash
# Offline checks of deploy/ (no cluster needed): every overlay renders with
# `kubectl kustomize`, passes strict schema validation for the Kubernetes
# version we target, and the rendered Deployment starts the real binary
# with exactly its args, env and ports (tests/it/deploy.rs).
set -euo pipefail
cd "$(dirname "$0")/.."

K8S_VERSION="${ROSTER_K8S_VERSION:-1.32.0}"
# CRDs the bundled schemas do not know; everything else must validate.
CRDS='Certificate|ServiceMonitor'

if ! command -v kubernetes-validate >/dev/null; then
  python3 -m pip install --quiet 'kubernetes-validate==1.37.0'
fi

out="$(mktemp -d)"
trap 'rm -rf "$out"' EXIT
for overlay in deploy/overlays/*/; do
  name="$(basename "$overlay")"
  echo "===== deploy/overlays/$name: render and validate (Kubernetes $K8S_VERSION, strict)"
  kubectl kustomize "$overlay" >"$out/$name.yaml"
  kubernetes-validate --strict --quiet -k "$K8S_VERSION" "$out/$name.yaml" 2>&1 | tee "$out/$name.log"
  if grep -v -E "Couldn't find schema for kind ($CRDS) " "$out/$name.log" | grep -q .; then
    echo "deploy/overlays/$name: schema validation reported problems" >&2
    exit 1
  fi
done

echo "===== the rendered Deployments run the real binary as declared"
cargo test --test it --locked -- deploy::
