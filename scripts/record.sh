#!/usr/bin/env bash
# Records one event on a deployed stage: POST /events, signed with AWS SigV4 (curl --aws-sigv4,
# curl 7.75 or newer), with an Idempotency-Key so that a retry cannot record it twice.
# Usage: scripts/record.sh BASE_URL ACTION SHA ENGINEER IDEMPOTENCY_KEY [SERVICE]
# Without SERVICE (or with an empty one) the event is the stage's DEFAULT_SERVICE's.
# Credentials: AWS_ACCESS_KEY_ID, AWS_SECRET_ACCESS_KEY and AWS_SESSION_TOKEN from the
# environment (GitHub's OIDC step sets them), else the AWS CLI's (`aws configure
# export-credentials`, AWS CLI v2). Region: AWS_REGION. Prints the recorded event's id.
set -euo pipefail

base=${1:?usage: record.sh BASE_URL ACTION SHA ENGINEER IDEMPOTENCY_KEY}
action=${2:?action missing}
sha=${3:?commit sha missing}
engineer=${4:?engineer missing}
key=${5:?idempotency key missing}
service=${6:-}
base=${base%/}
region=${AWS_REGION:-${AWS_DEFAULT_REGION:-}}
[[ -n "$region" ]] || { echo "error: AWS_REGION must name the stage's region" >&2; exit 1; }

if [[ -z "${AWS_ACCESS_KEY_ID:-}" ]]; then
  exported=$(aws configure export-credentials --format env) ||
    { echo "error: no AWS credentials in the environment, and 'aws configure export-credentials' found none" >&2; exit 1; }
  eval "$exported"
fi

json_string() {
  local text=${1//\\/\\\\}
  text=${text//\"/\\\"}
  printf '"%s"' "$text"
}
body=$(printf '{"sha":%s,"action":%s,"engineer":%s' \
  "$(json_string "$sha")" "$(json_string "$action")" "$(json_string "$engineer")")
if [[ -n "$service" ]]; then
  body+=$(printf ',"service":%s' "$(json_string "$service")")
fi
body+='}'

# The credentials go to curl as a config on its standard input (`--config -`), never as
# arguments: a command line is visible to every user of the machine (ps, /proc/<pid>/cmdline).
# printf is a shell builtin, so no process is started with them either. A config value is a
# double-quoted string in which backslash escapes.
config_string() {
  local text=${1//\\/\\\\}
  text=${text//\"/\\\"}
  printf '"%s"' "$text"
}
credentials() {
  printf 'user = %s\n' "$(config_string "$AWS_ACCESS_KEY_ID:$AWS_SECRET_ACCESS_KEY")"
  if [[ -n "${AWS_SESSION_TOKEN:-}" ]]; then
    printf 'header = %s\n' "$(config_string "x-amz-security-token: $AWS_SESSION_TOKEN")"
  fi
}
response=$(mktemp)
trap 'rm -f "$response"' EXIT
# Retried on timeouts and 5xx: the Idempotency-Key makes a retry answer with the same event.
status=$(credentials | curl --config - --silent --show-error --max-time 20 --retry 3 --retry-delay 2 \
  --aws-sigv4 "aws:amz:$region:execute-api" \
  --header "content-type: application/json" --header "idempotency-key: $key" \
  --data "$body" --output "$response" --write-out '%{http_code}' \
  "$base/events") || status=000
if [[ "$status" != 201 ]]; then
  echo "error: POST /events answered $status: $(head -c 300 "$response")" >&2
  exit 1
fi
id=$(sed -n 's/.*"id" *: *\([0-9][0-9]*\).*/\1/p' "$response")
[[ -n "$id" ]] || { echo "error: no id in $(head -c 300 "$response")" >&2; exit 1; }
echo "recorded $action of $sha by $engineer as event $id" >&2
echo "$id"
