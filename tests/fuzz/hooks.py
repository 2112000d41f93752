"""Schemathesis hooks for `make fuzz`.

`valid_requests_accepted` replaces Schemathesis' `positive_data_acceptance`. A request that fits
the description must be answered 2xx, or 404 for an event, engineer or service that does not
exist (a service without events: on `/engineers/{engineer}/events`), or
be refused for a rule JSON Schema cannot state. Each such rule is checked here against the
request itself, so a refusal the request does not earn still fails:

- `invalid_range`: `from` is not earlier than `to` (a date in `to` means the end of that day);
- `range_too_large`: the daily summary or the delivery metrics span more than 366 days;
- `invalid_cursor`: a cursor was given that this run's responses never issued;
- `invalid_timestamp`: the body's timestamp is before 1970 or more than 5 minutes ahead;
- `idempotency_key_reused` (422): this run recorded another body under the same key;
- `action_not_allowed` (422): the body's action is not among the server's allowed actions (the
  default list: the run sets no ALLOWED_ACTIONS);
- `invalid_signature` (401, `POST /webhooks/github`): the signature sent is not the HMAC-SHA256
  of the body sent under the run's secret (`before_call` signs each delivery, so this is earned
  only by a request whose signature or body Schemathesis changed after);
- `invalid_payload` (400, `POST /webhooks/github`): the delivery names an event whose payload the
  route reads (its shape is GitHub's, which the description leaves open), or its
  `X-GitHub-Event` is not a header value the route reads;
- the same two on `POST /webhooks/gitlab`: `invalid_signature` when `X-Gitlab-Token` is not the
  run's token (`before_call` sets it), `invalid_payload` for a `Deployment Hook` or an
  `X-Gitlab-Event` the route cannot read.
"""

from __future__ import annotations

import hashlib
import hmac
import json
import os
from datetime import date, datetime, timedelta, timezone

import schemathesis

MAX_DAYS = 366
ALLOWED_ACTIONS = {"stage", "deploy", "rollback", "commit", "hotfix"}
MAX_CLOCK_SKEW_SECONDS = 300
DAY = 86_400
WEBHOOK = "/webhooks/github"
GITLAB_WEBHOOK = "/webhooks/gitlab"
# The server's GITHUB_WEBHOOK_SECRET and GITLAB_WEBHOOK_TOKEN (run.py sets both sides).
WEBHOOK_SECRET = os.environ.get("FUZZ_WEBHOOK_SECRET", "").encode()
GITLAB_TOKEN = os.environ.get("FUZZ_GITLAB_TOKEN", "")
# The events whose payload each route reads: any other is answered 202 and ignored.
EVENTS_READ = {"deployment_status"}
GITLAB_EVENTS_READ = {"Deployment Hook"}

# What this run has seen: cursors the service issued (with the route and filters of the request
# each came from), and bodies recorded under each key.
issued_cursors: dict[str, tuple] = {}
recorded: dict[str, list[object]] = {}


def seconds(value: str, end_of_day: bool = False) -> int:
    """Seconds since 1970 of a date or RFC 3339 timestamp (whole seconds, fractions rounded up
    as the service does), computed without timezone arithmetic, which fails near year 1."""
    if len(value) == 10:
        day = date.fromisoformat(value)
        return (day - date(1970, 1, 1)).days * DAY + (DAY if end_of_day else 0)
    moment = datetime.fromisoformat(value.upper().replace("Z", "+00:00"))
    offset = moment.utcoffset() or timedelta(0)
    local = moment.replace(tzinfo=None) - datetime(1970, 1, 1)
    whole = local.days * DAY + local.seconds - int(offset.total_seconds())
    return whole + (1 if local.microseconds else 0)


def range_is_empty(query: dict) -> bool:
    if "from" not in query or "to" not in query:
        return False
    return seconds(str(query["from"])) >= seconds(str(query["to"]), end_of_day=True)


def range_is_too_large(query: dict) -> bool:
    if "from" not in query:
        # Without `from` the range is at most the 366 days up to `to` or the store's last day.
        return False
    if "to" not in query:
        # The store's last day stands in for the missing end.
        return True
    first = seconds(str(query["from"])) // DAY
    last = (seconds(str(query["to"]), end_of_day=True) - 1) // DAY
    return last - first + 1 > MAX_DAYS


def timestamp_out_of_bounds(body: object) -> bool:
    if not isinstance(body, dict) or "timestamp" not in body:
        return False
    # The service drops fractions of a second from a body's timestamp.
    moment = seconds(str(body["timestamp"]).split(".")[0] + tail(str(body["timestamp"])))
    now = int(datetime.now(timezone.utc).timestamp())
    return moment < 0 or moment > now + MAX_CLOCK_SKEW_SECONDS


def tail(timestamp: str) -> str:
    """The offset of a timestamp that has a fraction: what follows its digits."""
    if "." not in timestamp:
        return ""
    fraction = timestamp.split(".", 1)[1]
    return fraction.lstrip("0123456789")


def header(case, name: str) -> str | None:
    """A request header as the service reads it: HTTP drops spaces at either end of a value."""
    for key, value in (case.headers or {}).items():
        if key.lower() == name.lower():
            return str(value).strip(" \t")
    return None


def key_holds_another_body(case) -> bool:
    key = header(case, "Idempotency-Key")
    return key is not None and any(body != case.body for body in recorded.get(key, []))


def scope(case) -> tuple:
    """What a cursor is bound to: the route, its path parameters, the range and the filters."""
    query = case.query or {}
    filters = tuple(
        str(query.get(name)) for name in ("from", "to", "service", "engineer", "action")
    )
    return (case.operation.path, tuple(sorted((case.path_parameters or {}).items())), filters)


def signature_of(body: bytes) -> str:
    return "sha256=" + hmac.new(WEBHOOK_SECRET, body, hashlib.sha256).hexdigest()


def signature_is_wrong(case, response) -> bool:
    if case.operation.path == GITLAB_WEBHOOK:
        # What was sent, as the service reads it: HTTP drops spaces at either end.
        sent = response.request.headers.get("X-Gitlab-Token")
        return sent is None or str(sent).strip(" \t") != GITLAB_TOKEN
    sent = response.request.body or b""
    if isinstance(sent, str):
        sent = sent.encode()
    return case.operation.path == WEBHOOK and header(case, "X-Hub-Signature-256") != signature_of(sent)


def event_is_read_or_unreadable(case) -> bool:
    names = {WEBHOOK: ("X-GitHub-Event", EVENTS_READ), GITLAB_WEBHOOK: ("X-Gitlab-Event", GITLAB_EVENTS_READ)}
    if case.operation.path not in names:
        return False
    name, read = names[case.operation.path]
    event = header(case, name)
    readable = event is not None and 0 < len(event) <= 100 and event.isascii() and event.isprintable()
    return not readable or event in read


@schemathesis.hook
def before_call(ctx, case, kwargs):
    """Signs a webhook delivery as GitHub does, so that the fuzzing reaches past the signature:
    the body as the transport sends JSON (`json.dumps`, UTF-8); gives GitLab's its token. Only
    where the case has the header: a case without it tests that its absence is refused."""
    headers = case.headers or {}
    if case.operation.path == GITLAB_WEBHOOK and "X-Gitlab-Token" in headers:
        case.headers = {**headers, "X-Gitlab-Token": GITLAB_TOKEN}
        return
    if case.operation.path != WEBHOOK or "X-Hub-Signature-256" not in headers:
        return
    if not isinstance(case.body, (dict, list, str, int, float, bool)):
        return
    body = json.dumps(case.body).encode("utf-8")
    case.headers = {**headers, "X-Hub-Signature-256": signature_of(body)}


RULES_BEYOND_SCHEMA = {
    "invalid_range": lambda case, _: range_is_empty(case.query or {}),
    "range_too_large": lambda case, _: range_is_too_large(case.query or {}),
    "invalid_cursor": lambda case, _: "cursor" in (case.query or {})
    and issued_cursors.get(str(case.query["cursor"])) != scope(case),
    "invalid_timestamp": lambda case, _: timestamp_out_of_bounds(case.body),
    "idempotency_key_reused": lambda case, _: key_holds_another_body(case),
    "action_not_allowed": lambda case, _: isinstance(case.body, dict)
    and case.body.get("action") not in ALLOWED_ACTIONS,
    "invalid_signature": signature_is_wrong,
    "invalid_payload": lambda case, _: event_is_read_or_unreadable(case),
}
NOT_FOUND_CODES = {"event_not_found", "engineer_not_found", "service_not_found"}


def error_code(response) -> str | None:
    try:
        return response.json()["error"]["code"]
    except (ValueError, KeyError, TypeError):
        return None


def remember(case, response) -> None:
    if 200 <= response.status_code < 300:
        try:
            body = response.json()
        except ValueError:
            return
        if isinstance(body, dict) and isinstance(body.get("next_cursor"), str):
            issued_cursors[body["next_cursor"]] = scope(case)
    if case.method.upper() == "POST" and response.status_code == 201:
        key = header(case, "Idempotency-Key")
        if key is not None:
            recorded.setdefault(key, []).append(case.body)


@schemathesis.check
def valid_requests_accepted(ctx, response, case):
    """A request the description allows is answered, or refused only for a rule it cannot state."""
    remember(case, response)
    meta = case.meta
    if meta is None or not meta.generation.mode.is_positive:
        return None
    status = response.status_code
    if 200 <= status < 300:
        return None
    code = error_code(response)
    if status == 404 and code in NOT_FOUND_CODES:
        return None
    rule = RULES_BEYOND_SCHEMA.get(code)
    if rule is not None and rule(case, response):
        return None
    raise AssertionError(
        f"A request the description allows was refused: {status} {code!r}, "
        f"which this request does not earn"
    )
