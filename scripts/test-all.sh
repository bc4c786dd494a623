#!/usr/bin/env bash
# `npm run test:all`: on a fresh machine, installs everything the tests need (Debian packages as root, npm
# packages, the Python openai client), starts the servers they need (a private ClickHouse), lints, checks import boundaries, type-checks and runs
# every test. CI (.ci/run) runs exactly this.
set -euo pipefail
cd "$(dirname "$0")/.."
export WRANGLER_SEND_METRICS=false CLOUDFLARE_CF_FETCH_ENABLED=false

echo "== apt: clickhouse-server (analytics tests run against a real ClickHouse), python3-venv"
if ! { command -v clickhouse-server >/dev/null 2>&1 || [[ -x /usr/sbin/clickhouse-server ]]; } || ! python3 -c 'import venv, ensurepip' >/dev/null 2>&1; then
  apt-get update -qq
  DEBIAN_FRONTEND=noninteractive apt-get install -y -qq clickhouse-server clickhouse-client python3-venv >/dev/null
fi

echo "== npm ci"
npm ci --no-audit --no-fund

echo "== lint (ESLint, type-aware; fails on any finding)"
npm run --silent lint

echo "== import boundaries (dependency-cruiser: .dependency-cruiser.cjs; fails on any violation; there is no exceptions list)"
npm run --silent deps

echo "== python: the official openai client in .venv (client e2e tests)"
bash scripts/python-openai.sh

CH_PORT="${KVROUTE_TEST_CLICKHOUSE_PORT:-18123}"
echo "== start ClickHouse on 127.0.0.1:$CH_PORT"
CH_DIR="$(mktemp -d /tmp/kvroute-test-clickhouse.XXXXXX)"
export CLICKHOUSE_URL="http://127.0.0.1:$CH_PORT"
bash scripts/clickhouse.sh start "$CH_DIR" "$CH_PORT"
trap 'bash scripts/clickhouse.sh stop "$CH_DIR" "$CH_PORT" || true; rm -rf "$CH_DIR"' EXIT

echo "== typecheck"
npm run --silent typecheck

echo "== npm test"
mkdir -p tmp
status=0
npm test -- --reporter=default --reporter=json --outputFile=tmp/vitest-results.json || status=$?
# A plain closing line that any CI reader understands.
node -e '
  const r = JSON.parse(require("fs").readFileSync("tmp/vitest-results.json", "utf8"));
  console.log(`${r.numPassedTests} passed, ${r.numFailedTests} failed, ${r.numPendingTests + r.numTodoTests} skipped`);
' || true
exit $status
