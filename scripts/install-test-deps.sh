#!/usr/bin/env bash
# Installs what the tests run for real: Prometheus and promtool (Debian package `prometheus`),
# Alertmanager and amtool (`prometheus-alertmanager`), node-exporter
# (`prometheus-node-exporter`, for the native stack's host panels), docker-compose (only to
# validate deploy/docker-compose.yml: without recommends, so no Docker engine comes along), and
# the dashboard checker's npm packages (deploy/grafana/check, pinned by its package-lock.json).
# Skips what is already there.
set -euo pipefail
cd "$(dirname "$0")/.."

missing=()
command -v prometheus >/dev/null || missing+=(prometheus)
command -v promtool >/dev/null || missing+=(prometheus)
command -v prometheus-alertmanager >/dev/null || missing+=(prometheus-alertmanager)
command -v amtool >/dev/null || missing+=(prometheus-alertmanager)
command -v prometheus-node-exporter >/dev/null || missing+=(prometheus-node-exporter)
command -v prometheus-blackbox-exporter >/dev/null || missing+=(prometheus-blackbox-exporter)
command -v victoria-metrics >/dev/null || missing+=(victoria-metrics)
command -v vmalert >/dev/null || missing+=(victoria-metrics)
command -v docker-compose >/dev/null || missing+=(docker-compose)
if [ ${#missing[@]} -gt 0 ]; then
  SUDO=""
  if [ "$(id -u)" -ne 0 ]; then
    SUDO="sudo"
  fi
  export DEBIAN_FRONTEND=noninteractive
  echo "installing: ${missing[*]}"
  $SUDO apt-get update -qq
  # shellcheck disable=SC2068 # word splitting of package names is intended
  $SUDO apt-get install -y -qq --no-install-recommends $(printf '%s\n' "${missing[@]}" | sort -u) >/dev/null
fi

# npm ci only when the installed packages are not those of the current lock file (a copy of the
# lock it installed is kept in node_modules).
check=deploy/grafana/check
if ! cmp -s "$check/package-lock.json" "$check/node_modules/.installed-from-lock.json" 2>/dev/null; then
  command -v npm >/dev/null || { echo "npm is needed for the dashboard check (Node 20)" >&2; exit 1; }
  echo "installing the dashboard checker's npm packages"
  npm ci --prefix "$check" --no-audit --no-fund --loglevel=error
  cp "$check/package-lock.json" "$check/node_modules/.installed-from-lock.json"
fi

# The strict OpenMetrics parser (PyPI prometheus-client), pinned.
if ! python3 -c "import prometheus_client" 2>/dev/null; then
  echo "installing the OpenMetrics parser (prometheus-client from PyPI)"
  python3 -m pip install -q --disable-pip-version-check --root-user-action=ignore "prometheus-client==0.21.1"
fi

# kubernetes-validate (PyPI), pinned: the Kubernetes schemas it bundles check deploy/kubernetes/.
if ! python3 -c "import kubernetes_validate" 2>/dev/null; then
  echo "installing the Kubernetes manifest validator (kubernetes-validate from PyPI)"
  python3 -m pip install -q --disable-pip-version-check --root-user-action=ignore "kubernetes-validate==1.37.0"
fi
