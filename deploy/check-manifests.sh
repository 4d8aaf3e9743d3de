#!/usr/bin/env bash
# Validate deploy/kubernetes/*.yaml offline: every manifest against the
# Kubernetes API schemas (kubernetes-validate, strict: unknown fields are
# errors), and the configuration in the ConfigMap with `preflight lint`.
#
#   deploy/check-manifests.sh [PATH-TO-PREFLIGHT]   # default: cargo run
#
# Needs `pip install kubernetes-validate` (which brings PyYAML).
set -euo pipefail
cd "$(dirname "$0")/.."
K8S_VERSION=${K8S_VERSION:-1.37.0}

echo "== kubernetes-validate --kubernetes-version $K8S_VERSION --strict"
kubernetes-validate --kubernetes-version "$K8S_VERSION" --strict deploy/kubernetes/*.yaml

echo "== preflight lint: the ConfigMap's preflight.toml"
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
python3 - deploy/kubernetes/configmap.yaml "$tmp/preflight.toml" <<'PY'
import sys, yaml
with open(sys.argv[1]) as f:
    config_map = yaml.safe_load(f)
with open(sys.argv[2], "w") as f:
    f.write(config_map["data"]["preflight.toml"])
PY
if [ -n "${1:-}" ]; then
  "$1" lint --config "$tmp/preflight.toml"
else
  cargo run --quiet -p preflight -- lint --config "$tmp/preflight.toml"
fi
