#!/usr/bin/env bash
# Installs what the tests need on a fresh Debian machine, then runs them.
# README.md and .ci/run both call this script, so no install step hides in CI.
set -euo pipefail
cd "$(dirname "$0")/.."

# System packages the tests start for real: Redis, nginx, HAProxy, and
# Chromium (the bench HTML report and the dashboard are rendered in headless
# Chromium), Prometheus (promtool checks gen prometheus; a real server scrapes a cluster).
packages=(redis-server nginx haproxy chromium prometheus)
missing=()
for pkg in "${packages[@]}"; do
  dpkg-query -W -f='${Status}' "$pkg" 2>/dev/null | grep -q "install ok installed" || missing+=("$pkg")
done
if ((${#missing[@]})); then
  SUDO=""
  [ "$(id -u)" -ne 0 ] && SUDO="sudo"
  $SUDO apt-get update
  DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y "${missing[@]}"
fi
# The packages install services; the tests start their own private instances
# on free loopback ports, so the system ones are not needed (and not touched
# when they were already running).

npm ci --no-audit --no-fund
npm test
# The official MCP conformance suite against one worker, serve (gateway) and
# serve behind nginx; fails on any difference (docs/conformance.md). Its CLI
# needs Node 22, which npx fetches from the npm registry.
npm run conformance
