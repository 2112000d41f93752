#!/usr/bin/env bash
# Calls every endpoint of a deployed stage and fails on any wrong answer.
# Usage: scripts/smoke.sh BASE_URL API_KEY EXPECTED_COMMIT_SHA
set -euo pipefail

base=${1:?usage: smoke.sh BASE_URL API_KEY EXPECTED_COMMIT_SHA}
key=${2:?api key missing}
sha=${3:?expected commit sha missing}
base=${base%/}
failures=0
passed=0

# check NAME EXPECTED_STATUS PATH [curl args...]: prints the body of a passing call on stdout.
check() {
  local name=$1 expected=$2 path=$3
  shift 3
  local body status
  body=$(mktemp)
  status=$(curl --silent --show-error --max-time 15 --retry 3 --retry-all-errors \
    --output "$body" --write-out '%{http_code}' "$@" "$base$path") || status=000
  if [[ "$status" == "$expected" ]]; then
    passed=$((passed + 1))
    echo "ok   $name ($status)" >&2
  else
    failures=$((failures + 1))
    echo "FAIL $name: expected $expected, got $status: $(head -c 300 "$body")" >&2
  fi
  cat "$body"
  rm -f "$body"
}

auth=(--header "x-api-key: $key")
check "GET / with key" 200 / "${auth[@]}" >/dev/null
check "GET /health without key" 200 /health >/dev/null
check "GET /events with key" 200 "/events?limit=5" "${auth[@]}" >/dev/null
check "GET /engineers with key" 200 /engineers "${auth[@]}" >/dev/null
check "GET /summaries/daily with key" 200 /summaries/daily "${auth[@]}" >/dev/null
check "GET /events?limit=0 is a 400" 400 "/events?limit=0" "${auth[@]}" >/dev/null
check "GET /events without key is refused" 403 /events >/dev/null

metadata=$(check "GET /metadata with key" 200 /metadata "${auth[@]}")
deployed=$(sed -n 's/.*"lastcommitsha":"\([^"]*\)".*/\1/p' <<<"$metadata")
if [[ "$deployed" == "$sha" ]]; then
  passed=$((passed + 1))
  echo "ok   /metadata reports the deployed commit $sha" >&2
else
  failures=$((failures + 1))
  echo "FAIL /metadata reports lastcommitsha '$deployed', deployed $sha" >&2
fi

echo "smoke: $passed passed, $failures failed" >&2
((failures == 0))
