#!/usr/bin/env bash
# Calls every endpoint of a deployed stage and fails on any wrong answer.
# Usage: SMOKE_API_KEY=… scripts/smoke.sh BASE_URL EXPECTED_COMMIT_SHA [RECORDED_EVENT_ID]
# The API key comes in the environment and goes to curl in a header file only this user can
# read: a command line is visible to everyone on the machine (ps).
# With a RECORDED_EVENT_ID (what scripts/record.sh printed), it also reads that event back.
# A stage that was just deployed can answer wrongly for a while (a new API key is refused with
# 403 for some seconds): each check is retried until SMOKE_WAIT_SECONDS (default 90) have passed
# since the smoke test started, then fails.
set -euo pipefail

base=${1:?usage: SMOKE_API_KEY=… smoke.sh BASE_URL EXPECTED_COMMIT_SHA [RECORDED_EVENT_ID]}
key=${SMOKE_API_KEY:?SMOKE_API_KEY, the API key of the stage, is missing}
sha=${2:?expected commit sha missing}
recorded=${3:-}
base=${base%/}
deadline=$((SECONDS + ${SMOKE_WAIT_SECONDS:-90}))
retry_pause=${SMOKE_RETRY_PAUSE_SECONDS:-3}
failures=0
passed=0

# call EXPECTED_STATUS PATH [curl args...]: one request; body to $body, status on stdout.
call() {
  local path=$1
  shift
  curl --silent --show-error --max-time 15 --output "$body" --write-out '%{http_code}' "$@" "$base$path" 2>/dev/null || echo 000
}

# check NAME EXPECTED_STATUS PATH [curl args...]: prints the body of a passing call on stdout;
# EXPECTED_STATUS may name several, as 401|404.
check() {
  local name=$1 expected=$2 path=$3 status
  shift 3
  body=$(mktemp)
  while status=$(call "$path" "$@") && ! [[ "$status" =~ ^($expected)$ ]] && ((SECONDS < deadline)); do
    echo "wait $name: got $status, expected $expected; retrying" >&2
    sleep "$retry_pause"
  done
  if [[ "$status" =~ ^($expected)$ ]]; then
    passed=$((passed + 1))
    echo "ok   $name ($status)" >&2
  else
    failures=$((failures + 1))
    echo "FAIL $name: expected $expected, got $status: $(head -c 300 "$body")" >&2
  fi
  cat "$body"
  rm -f "$body"
}

key_header=$(umask 077 && mktemp)
trap 'rm -f "$key_header"' EXIT
printf 'x-api-key: %s\n' "$key" >"$key_header"
auth=(--header "@$key_header")
check "GET / with key" 200 / "${auth[@]}" >/dev/null
check "GET /health without key" 200 /health >/dev/null
# The dashboard page carries no data and asks its reader for the key.
check "GET /dashboard without key" 200 /dashboard >/dev/null
check "GET /events with key" 200 "/events?limit=5" "${auth[@]}" >/dev/null
check "GET /engineers with key" 200 /engineers "${auth[@]}" >/dev/null
check "GET /summaries/daily with key" 200 /summaries/daily "${auth[@]}" >/dev/null
# A name no pipeline records (it holds a character the route allows but `git` user names rarely
# do): the route answers, whatever the table holds, with its own 404.
check "GET /engineers/{engineer}/events for nobody is a 404" 404 "/engineers/smoke~nobody/events" "${auth[@]}" >/dev/null
check "GET /events?limit=0 is a 400" 400 "/events?limit=0" "${auth[@]}" >/dev/null
check "GET /openapi.json with key" 200 /openapi.json "${auth[@]}" >/dev/null
# The Lambda package leaves the reference page out (its zip budget): /docs says where it is.
check "GET /docs is a 404 docs_not_served on Lambda" 404 /docs "${auth[@]}" >/dev/null
check "GET /events without key is refused" 403 /events >/dev/null
# The webhooks go without a key (a code host cannot send one) and reach the function, which
# refuses an unsigned delivery itself: 401 invalid_signature once the secret is set, 404
# webhook_not_configured before (API Gateway's own refusal would be a 403).
webhook=$(mktemp)
check "POST /webhooks/github without key reaches the function" "401|404" /webhooks/github \
  --request POST --header 'content-type: application/json' --header 'x-github-event: ping' \
  --data '{}' >"$webhook"
if ! grep -Eq '"code" *: *"(invalid_signature|webhook_not_configured)"' "$webhook"; then
  failures=$((failures + 1))
  echo "FAIL POST /webhooks/github: not the function's refusal: $(head -c 300 "$webhook")" >&2
fi
rm -f "$webhook"

# The commit SHA: new code starts only after the parameters are written (infra/lambda.tf), but a
# warm instance of unchanged code may serve its cached value until its TTL ends.
metadata=$(check "GET /metadata with key" 200 /metadata "${auth[@]}")
deployed=$(sed -n 's/.*"lastcommitsha" *: *"\([^"]*\)".*/\1/p' <<<"$metadata")
while [[ "$deployed" != "$sha" ]] && ((SECONDS < deadline)); do
  echo "wait /metadata reports '$deployed', deployed $sha; retrying" >&2
  sleep "$retry_pause"
  body=$(mktemp)
  [[ "$(call /metadata "${auth[@]}")" == 200 ]] && deployed=$(sed -n 's/.*"lastcommitsha" *: *"\([^"]*\)".*/\1/p' "$body")
  rm -f "$body"
done
if [[ "$deployed" == "$sha" ]]; then
  passed=$((passed + 1))
  echo "ok   /metadata reports the deployed commit $sha" >&2
else
  failures=$((failures + 1))
  echo "FAIL /metadata reports lastcommitsha '$deployed', deployed $sha" >&2
fi

if [[ -n "$recorded" ]]; then
  event=$(check "GET /events/$recorded (the deploy just recorded)" 200 "/events/$recorded" "${auth[@]}")
  # (check ran in a subshell: its count is kept here.)
  if grep -Eq "\"sha\" *: *\"$sha\"" <<<"$event"; then
    passed=$((passed + 1))
    echo "ok   event $recorded is the deploy of $sha" >&2
  else
    failures=$((failures + 1))
    echo "FAIL event $recorded is not the deploy of $sha: $event" >&2
  fi
fi

echo "smoke: $passed passed, $failures failed" >&2
((failures == 0))
