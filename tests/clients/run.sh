#!/usr/bin/env bash
# Real third-party vtiger clients, unmodified, against the release server:
# vtigerpy from PyPI (with `requests`, which it forgets to declare) and
# node-vtiger from npm, installed into a temporary folder. Each drives the
# scenario in its *_scenario file and prints PASS/FAIL a step; this prints
# the sum as "N passed, M failed" and exits non-zero on any failure.
# Run alone: bash tests/clients/run.sh   (.ci/run runs it after cargo test)
set -uo pipefail
cd "$(dirname "$0")/../.."
here=tests/clients
work=$(mktemp -d)
server_pid=
cleanup() {
  [ -n "$server_pid" ] && kill "$server_pid" 2>/dev/null && wait "$server_pid" 2>/dev/null
  rm -rf "$work"
}
trap cleanup EXIT

passed=0
failed=0
# One line for a step of this script itself (installing, starting).
note() {
  echo "$1 $2"
  if [ "$1" = PASS ]; then passed=$((passed + 1)); else failed=$((failed + 1)); fi
}

cargo build --release --locked --quiet || { note FAIL "build the release server"; echo "$passed passed, $failed failed"; exit 1; }

python_ready=no
if python3 -m venv "$work/venv" \
  && "$work/venv/bin/pip" install --quiet --disable-pip-version-check vtigerpy requests; then
  python_ready=yes
else
  note FAIL "install vtigerpy and requests from PyPI"
fi
node_ready=no
if npm install --silent --no-audit --no-fund --prefix "$work/node" node-vtiger >/dev/null; then
  node_ready=yes
else
  note FAIL "install node-vtiger from npm"
fi

key=ConformanceKey16
STRIPES_ADMIN_ACCESS_KEY=$key RUST_LOG=info target/release/stripes serve \
  --listen 127.0.0.1:0 --db "$work/stripes.db" 2>"$work/server.log" >/dev/null &
server_pid=$!
port=
for _ in $(seq 1 300); do
  port=$(sed -n 's/.*port=\([0-9]*\).*/\1/p' "$work/server.log" | head -1)
  [ -n "$port" ] && break
  sleep 0.1
done
if [ -z "$port" ]; then
  note FAIL "start stripes on a loopback port"
  cat "$work/server.log"
  echo "$passed passed, $failed failed"
  exit 1
fi
url="http://127.0.0.1:$port"

# Runs one client's scenario and adds its summary line to the totals; a
# scenario that dies before its summary counts as one failure.
run_scenario() {
  local client=$1
  shift
  local out
  out=$("$@" "$url" admin "$key" 2>&1)
  echo "$out" | grep -v "passed, .* failed$"
  local summary
  summary=$(echo "$out" | sed -n "s/^$client: \([0-9]*\) passed, \([0-9]*\) failed$/\1 \2/p")
  if [ -z "$summary" ]; then
    note FAIL "$client: the scenario ended without its summary (crashed?)"
    echo "$out" | tail -5
    return
  fi
  passed=$((passed + ${summary% *}))
  failed=$((failed + ${summary#* }))
}

[ "$python_ready" = yes ] && run_scenario vtigerpy "$work/venv/bin/python" "$here/vtigerpy_scenario.py"
[ "$node_ready" = yes ] && NODE_PATH="$work/node/node_modules" run_scenario node-vtiger node "$here/node_vtiger_scenario.js"

echo "$passed passed, $failed failed"
[ "$failed" -eq 0 ]
