#!/usr/bin/env bash
# `make bench`, DynamoDB side: the shipped binary against moto_server on 127.0.0.1.
# moto is a Python stand-in, far slower than DynamoDB, so its latency says nothing; what is
# measured is what the binary does: DynamoDB requests per API call (counted in moto's request
# log), the binary's own CPU time per call (the SDK's overhead, the network wait excluded), and
# the import rate (events/s, bounded by moto here); for POST /events, the requests and, from the
# items it wrote, the capacity units one POST costs (scripts/dynamodb-write-units.py, with the
# boto3 that moto brings into the venv).
# moto runs through tests/api/support/moto_server.py (a failed transaction rolled back item by
# item, not by copying the table), with the venv's Python.
# BINARY serves (the shipped one); OPERATOR, the same build with the operator commands, creates and
# fills the tables.
# Usage: scripts/bench-dynamodb.sh BINARY OPERATOR VENV_PYTHON OUT_JSON
set -euo pipefail

usage="usage: bench-dynamodb.sh BINARY OPERATOR VENV_PYTHON OUT_JSON"
binary=${1:?$usage}
operator=${2:?$usage}
python=${3:?$usage}
here=$(cd "$(dirname "$0")" && pwd)
out=${4:?$usage}
work=$(mktemp -d)
free_port() { python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])'; }
moto_port=$(free_port)
port=$(free_port)
base="http://127.0.0.1:$port"
import_events=${BENCH_IMPORT_EVENTS:-20000}

export AWS_ACCESS_KEY_ID=testing AWS_SECRET_ACCESS_KEY=testing AWS_REGION=eu-west-1 \
  AWS_CONFIG_FILE=/dev/null AWS_SHARED_CREDENTIALS_FILE=/dev/null AWS_EC2_METADATA_DISABLED=true \
  AWS_ENDPOINT_URL_DYNAMODB="http://127.0.0.1:$moto_port" EVENT_STORE=dynamodb EVENTS_TABLE=bench-events \
  LOG_LEVEL=warn
"$python" "$here/../tests/api/support/moto_server.py" -H 127.0.0.1 -p "$moto_port" 2>"$work/moto.log" >/dev/null &
moto_pid=$!
server_pid=
trap 'kill $moto_pid $server_pid 2>/dev/null || true; rm -rf "$work"' EXIT
for _ in $(seq 1 100); do
  curl --silent --output /dev/null "http://127.0.0.1:$moto_port/" && break
  sleep 0.1
done

# Thirty days of events from 40 engineers, four actions, in the import format.
python3 - "$import_events" >"$work/events.jsonl" <<'PY'
import json, random, sys
n = int(sys.argv[1]); random.seed(7); start = 1_509_321_600
for i in range(n):
    print(json.dumps({"id": i + 1, "sha": f"{random.getrandbits(160):040x}",
                      "date": start + random.randrange(30 * 86_400),
                      "action": random.choice(["stage", "deploy", "rollback", "hotfix"]),
                      "engineer": f"engineer{random.randrange(40):02d}"}))
PY

"$operator" create-table >&2
echo "import: $import_events events into moto" >&2
started=$(date +%s.%N)
"$operator" import "$work/events.jsonl" >&2
ended=$(date +%s.%N)
import_s=$(python3 -c 'import sys; print(f"{float(sys.argv[2]) - float(sys.argv[1]):.2f}")' "$started" "$ended")

# The routes read a table of a tenth of those events: moto's Query time grows with the table,
# and more calls in the same 5 s make the CPU figure finer than the 10 ms clock tick.
head -n $((import_events / 10)) "$work/events.jsonl" >"$work/small.jsonl"
export EVENTS_TABLE=bench-small
"$operator" create-table >&2
"$operator" import "$work/small.jsonl" >&2

start_server() { # the binary on $port, on the table EVENTS_TABLE names, started afresh
  if [ -n "$server_pid" ]; then kill "$server_pid"; wait "$server_pid" 2>/dev/null || true; fi
  BIND_ADDR="127.0.0.1:$port" "$binary" 2>/dev/null &
  server_pid=$!
  for _ in $(seq 1 100); do
    curl --silent --fail --output /dev/null "$base/health" && return
    sleep 0.05
  done
  echo "the server did not start" >&2
  exit 1
}
start_server
cpu_ticks() { awk '{print $14 + $15}' "/proc/$server_pid/stat"; }
moto_requests() { grep -c '"POST / HTTP' "$work/moto.log" || true; }
# Until moto has logged every request sent so far: wrk leaves calls in flight when it stops,
# and moto logging one of them during the next count would add a request to another route.
moto_settled() {
  local last now
  last=$(moto_requests)
  while sleep 0.3; now=$(moto_requests); [ "$now" != "$last" ]; do last=$now; done
}
ticks_per_s=$(getconf CLK_TCK)

# Ranges within one month, so that the requests a call makes do not depend on how the random
# events fall (a page that spills into the next month costs one Query more).
routes=('/events?from=2017-11-05&to=2017-11-05&limit=100' '/events?from=2017-11-01&limit=100'
  '/events?action=deploy&from=2017-11-01&limit=100' '/events?engineer=engineer07&limit=100'
  '/engineers/engineer07/events?action=deploy&limit=20' '/engineers'
  '/summaries/daily' '/summaries/daily?from=2017-01-01&to=2017-12-31'
  '/metrics/delivery' '/metrics/delivery?from=2017-01-01&to=2017-12-31&bucket=week')
json=""
for route in "${routes[@]}"; do
  # One call, warm (the client exists): the DynamoDB requests it made.
  curl --silent --fail --output /dev/null "$base$route"
  moto_settled
  before=$(moto_requests)
  curl --silent --fail --output /dev/null "$base$route"
  moto_settled
  requests=$(( $(moto_requests) - before ))
  # 5 s of calls, 4 at a time: the binary's CPU per call.
  echo "wrk: $route against moto (${import_events}/10 events), 5 s" >&2
  cpu_before=$(cpu_ticks)
  calls=$(wrk --threads 1 --connections 4 --duration 5s "$base$route" | awk '/requests in/ {print $1}')
  cpu_after=$(cpu_ticks)
  cpu_us=$(python3 -c 'import sys; t, r, hz = map(float, sys.argv[1:]); print(f"{t / hz * 1e6 / r:.1f}")' \
    "$((cpu_after - cpu_before))" "$calls" "$ticks_per_s")
  json+="${json:+,}{\"path\":\"$route\",\"dynamodb_requests\":$requests,\"calls\":$calls,\"cpu_us_per_call\":$cpu_us}"
done

# POST /events, without and with an Idempotency-Key: requests per POST, then what the keyed one
# wrote, in capacity units; then the binary's CPU per POST over 5 s, one at a time (moto's
# transactions are not isolated from each other). The measured POSTs deploy a commit again
# (the day's deploys change, not the commit); the keyed one deploys a new commit, which also
# writes the commit's firsts: the costlier case, which the capacity figure is for.
export EVENTS_TABLE=bench-post
"$operator" create-table >&2
start_server
post() { # post [HEADER [SHA]] -> the response body
  curl --silent --fail --request POST --header 'Content-Type: application/json' ${1:+--header "$1"} \
    --data "{\"sha\":\"${2:-5e1f0c3}\",\"action\":\"deploy\",\"engineer\":\"engineer07\"}" "$base/events"
}
post >/dev/null
moto_settled
before=$(moto_requests)
post >/dev/null
moto_settled
post_requests=$(( $(moto_requests) - before ))
before=$(moto_requests)
keyed=$(post "Idempotency-Key: bench-$$" 5e1f0c4)
moto_settled
post_keyed_requests=$(( $(moto_requests) - before ))
keyed_id=$(python3 -c 'import json,sys; print(json.loads(sys.argv[1])["id"])' "$keyed")
units=$("$python" "$here/dynamodb-write-units.py" "$AWS_ENDPOINT_URL_DYNAMODB" "$EVENTS_TABLE" "$keyed_id" "bench-$$")
echo "wrk: POST /events against moto, 1 connection, 5 s" >&2
cpu_before=$(cpu_ticks)
post_calls=$(WRK_METHOD=POST WRK_BODY='{"sha":"5e1f0c3","action":"deploy","engineer":"engineer07"}' \
  wrk --threads 1 --connections 1 --duration 5s --script "$here/wrk-report.lua" "$base/events" | tail -n 1 |
  python3 -c 'import json,sys; r=json.load(sys.stdin); assert r["non_2xx_3xx"] == 0, r; print(r["requests"])')
cpu_after=$(cpu_ticks)
post_cpu_us=$(python3 -c 'import sys; t, r, hz = map(float, sys.argv[1:]); print(f"{t / hz * 1e6 / r:.1f}")' \
  "$((cpu_after - cpu_before))" "$post_calls" "$ticks_per_s")

cat >"$out" <<JSON
{"import_events":$import_events,"import_seconds":$import_s,"table_events":$((import_events / 10)),
 "routes":[$json],
 "post":{"dynamodb_requests":$post_requests,"dynamodb_requests_with_key":$post_keyed_requests,
  "calls":$post_calls,"cpu_us_per_call":$post_cpu_us,"capacity":$units}}
JSON
echo "wrote $out" >&2
