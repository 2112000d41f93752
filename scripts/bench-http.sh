#!/usr/bin/env bash
# `make bench`, HTTP side: the local server under wrk on 127.0.0.1, bounded in time.
# Throughput of /health and of an /events range page (10 s each), then a 60 s soak over every
# route, valid and invalid requests mixed: no socket errors, no 5xx, RSS steady. Then POST /events
# for 10 s on a fresh server, without EVENTS_FILE and with one (each event appended and synced):
# throughput, latency, and with the file, that it holds exactly one line per 201. Last, GitHub
# pushes of 100 commits to POST /webhooks/github with EVENTS_FILE, 10 s (scripts/bench-webhooks.py):
# deliveries/s of new pushes, then of redeliveries.
# Usage: scripts/bench-http.sh BINARY OUT_JSON
set -euo pipefail

binary=${1:?usage: bench-http.sh BINARY OUT_JSON}
out=${2:?usage: bench-http.sh BINARY OUT_JSON}
here=$(cd "$(dirname "$0")" && pwd)
port=$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])')
base="http://127.0.0.1:$port"
threads=2
connections=32
work=$(mktemp -d)
pid=

start_server() { # start_server [NAME=VALUE...]: the binary on $port, started afresh
  if [ -n "$pid" ]; then kill "$pid"; wait "$pid" 2>/dev/null || true; fi
  # Request logs off: the figure is the service, not the terminal it logs to.
  env BIND_ADDR="127.0.0.1:$port" LOG_LEVEL=warn "$@" "$binary" 2>/dev/null &
  pid=$!
  for _ in $(seq 1 100); do
    curl --silent --fail --output /dev/null "$base/health" && return
    sleep 0.05
  done
  echo "the server did not start" >&2
  exit 1
}
trap 'kill "$pid" 2>/dev/null || true; rm -rf "$work"' EXIT
start_server

rss_kib() { awk '/^VmRSS:/ {print $2}' "/proc/$pid/status"; }
# CPU time the server process has used, user + system, in clock ticks.
cpu_ticks() { awk '{print $14 + $15}' "/proc/$pid/stat"; }
ticks_per_s=$(getconf CLK_TCK)

run() { # run SECONDS PATHS -> JSON line
  WRK_PATHS=$2 wrk --threads "$threads" --connections "$connections" --duration "$1s" \
    --script "$here/wrk-report.lua" "$base" | tail -n 1
}

range_page='/events?from=2017-10-16&to=2017-10-28&limit=100'
mixed='/,/health,/metadata,/events?limit=100,/events?from=2017-10-16&to=2017-10-20&action=deploy'
mixed+=',/engineers,/engineers/ada.berg/events?limit=20,/summaries/daily,/summaries/daily?from=2017-10-02&to=2017-10-09'
mixed+=',/events?limit=0,/events?from=yesterday,/events?cursor=forged,/events?color=red,/nope'
mixed+=',/engineers/nobody/events,/summaries/daily?from=2010-01-01&to=2017-01-01'

echo "wrk: /health, 10 s" >&2
health=$(run 10 /health)
echo "wrk: /events range page, 10 s" >&2
events=$(run 10 "$range_page")
# Server CPU per request, route by route, in one run: the read routes against /health, measured
# first and again last (the report sets each route against the mean of the two).
cpu_routes=(/health / /metadata /engineers /summaries/daily '/events?from=2017-10-30&to=2017-10-30'
  '/events?from=2017-10-16&to=2017-10-28&limit=100' '/engineers/ada.berg/events?limit=20' /health)
cpu_json=""
for route in "${cpu_routes[@]}"; do
  echo "wrk: server CPU per request, $route, 5 s" >&2
  before=$(cpu_ticks)
  result=$(run 5 "$route")
  after=$(cpu_ticks)
  requests=$(python3 -c 'import json,sys; print(json.loads(sys.argv[1])["requests"])' "$result")
  cpu_us=$(python3 -c 'import sys; t, r, hz = map(float, sys.argv[1:]); print(f"{t / hz * 1e6 / r:.2f}")' \
    "$((after - before))" "$requests" "$ticks_per_s")
  cpu_json+="${cpu_json:+,}{\"path\":\"$route\",\"requests\":$requests,\"cpu_us_per_request\":$cpu_us}"
done

echo "wrk: soak warm-up over every route, 5 s" >&2
run 5 "$mixed" >/dev/null
rss_after_warmup=$(rss_kib)
echo "wrk: soak over every route, valid and invalid, 60 s" >&2
soak=$(run 60 "$mixed")
rss_at_end=$(rss_kib)

# POST /events: no Idempotency-Key, so each request records a new event (timestamp: receipt).
export WRK_METHOD=POST WRK_BODY='{"sha":"5e1f0c3","action":"deploy","engineer":"bench"}'
start_server
echo "wrk: POST /events, memory store, no EVENTS_FILE, 10 s" >&2
post_memory=$(run 10 /events)
cp "$here/../data/events.jsonl" "$work/events.jsonl"
lines_before=$(wc -l <"$work/events.jsonl")
start_server EVENTS_FILE="$work/events.jsonl"
echo "wrk: POST /events, memory store, EVENTS_FILE (append + sync per event), 10 s" >&2
post_file=$(run 10 /events)
appended=$(( $(wc -l <"$work/events.jsonl") - lines_before ))
unset WRK_METHOD WRK_BODY

cp "$here/../data/events.jsonl" "$work/pushes.jsonl"
secret=$(python3 -c 'import secrets; print(secrets.token_hex(32))')
start_server EVENTS_FILE="$work/pushes.jsonl" GITHUB_WEBHOOK_SECRET="$secret"
echo "webhooks: GitHub pushes of 100 commits, EVENTS_FILE, 10 s each new and redelivered" >&2
examples="$here/../tools/webhook-examples/node_modules/@octokit/webhooks-examples/api.github.com/index.json"
pushes=$(GITHUB_WEBHOOK_SECRET=$secret python3 "$here/bench-webhooks.py" "$base" "$examples" 10)

cat >"$out" <<JSON
{"threads":$threads,"connections":$connections,
 "health":$health,
 "events_range_page":$events,
 "events_range_page_path":"$range_page",
 "cpu_per_request":[$cpu_json],
 "soak":$soak,
 "soak_rss_kib_after_warmup":$rss_after_warmup,
 "soak_rss_kib_at_end":$rss_at_end,
 "post_memory":$post_memory,
 "post_events_file":$post_file,
 "post_events_file_lines_appended":$appended,
 "webhook_pushes":$pushes}
JSON
echo "wrote $out" >&2
