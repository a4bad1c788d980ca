#!/usr/bin/env bash
# Validates every Kubernetes manifest in deploy/k8s against the official schemas, offline, with
# kubernetes-validate (PyPI; it ships the JSON schemas of each Kubernetes version). Strict: an
# unknown field fails too. Installs into .cache/k8s-venv (git-ignored) on first use.
set -euo pipefail
cd "$(dirname "$0")/.."

VERSION="1.37.0"
# The oldest Kubernetes the manifests target (preStop `sleep` is on by default from 1.30) and
# the newest the validator knows.
KUBERNETES_VERSIONS=("1.30" "1.37")

venv=".cache/k8s-venv"
validate="$venv/bin/kubernetes-validate"
if ! [ -x "$validate" ] || [ "$("$validate" --version 2>/dev/null)" != "$VERSION" ]; then
  rm -rf "$venv"
  python3 -m venv "$venv"
  "$venv/bin/pip" install --quiet --disable-pip-version-check "kubernetes-validate==$VERSION"
fi

manifests=()
for f in deploy/k8s/*.yaml; do
  # Kustomize's own file is not a Kubernetes resource.
  [ "$(basename "$f")" = "kustomization.yaml" ] && continue
  manifests+=("$f")
done
if [ "${#manifests[@]}" -eq 0 ]; then
  echo "no manifests in deploy/k8s" >&2
  exit 1
fi

# Every file named by the kustomization must exist and be validated.
for res in $(sed -n 's/^  - \(.*\.yaml\)$/\1/p' deploy/k8s/kustomization.yaml); do
  [ -f "deploy/k8s/$res" ] || { echo "kustomization.yaml names missing $res" >&2; exit 1; }
done

for k in "${KUBERNETES_VERSIONS[@]}"; do
  "$validate" --strict --quiet -k "$k" "${manifests[@]}"
  echo "deploy/k8s: ${#manifests[@]} manifests valid against Kubernetes $k (strict)"
done
