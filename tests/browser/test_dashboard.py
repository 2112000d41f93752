"""`GET /dashboard` in headless Chromium (Debian's `chromium`, driven as `devtools.py` says): every
chart draws the figures `/metrics/delivery` answers, the page asks nothing of anywhere but its own
origin, runs under its Content-Security-Policy without a violation, escapes what clients sent,
asks for an API key where the stage wants one (and keeps it in the tab only), and stays usable at
360 px and from the keyboard.
"""

from __future__ import annotations

import gzip
import http.server
import json
import threading
import urllib.parse
import urllib.request

import pytest

from devtools import Tab, browser, local_server

# The built-in sample (`make run`'s): one service, six weeks.
SERVICE = "default"
RANGE = {"service": SERVICE, "from": "2017-10-02", "to": "2017-11-12"}
# What each chart draws, series by series, as a figure of each bucket of the JSON.
CHARTS = {
    "deployment_frequency": {"deploys": ("deployment_frequency", "deploys")},
    "lead_time": {"median": ("lead_time", "median_seconds"), "p90": ("lead_time", "p90_seconds")},
    "change_failure_rate": {"rate": ("change_failure_rate", "rate")},
    "failed_deployment_recovery_time": {"median": ("failed_deployment_recovery_time", "median_seconds")},
    "deployment_rework_rate": {"rate": ("deployment_rework_rate", "rate")},
}
DRAWN = """(() => Object.fromEntries([...document.querySelectorAll('svg[data-chart]')].map((svg) => [
    svg.dataset.chart,
    Object.fromEntries([...svg.querySelectorAll('g[data-series]')].map((g) => [
        g.dataset.series, [...g.children].map((mark) => mark.dataset.value)]))])))()"""
LEVELS = """Object.fromEntries([...document.querySelectorAll('[data-card]')].map((card) =>
    [card.dataset.card, card.querySelector('[data-level]').dataset.level]))"""


def get_json(url: str) -> dict:
    with urllib.request.urlopen(url, timeout=10) as response:
        return json.load(response)


@pytest.fixture(scope="module")
def server():
    with local_server() as url:
        yield url


@pytest.fixture(scope="module")
def chromium():
    with browser() as chrome:
        yield chrome


def drawn_page(chromium, url: str, width: int = 1280) -> Tab:
    tab = Tab(chromium, width, 900)
    tab.go(url)
    assert tab.wait_for("document.body.dataset.ready") == "true", tab.evaluate("document.querySelector('#status').textContent")
    return tab


def as_drawn(value) -> str:
    """A JSON figure as the page writes it in `data-value`: JavaScript's `String(value)`."""
    if value is None:
        return ""
    if isinstance(value, float) and value.is_integer():
        return str(int(value))
    return json.dumps(value)


def test_every_chart_draws_the_figures_the_api_answers(server, chromium):
    for benchmark in ("2023", "2024"):
        query = urllib.parse.urlencode({**RANGE, "benchmark": benchmark})
        tab = drawn_page(chromium, f"{server}/dashboard?{query}")
        report = get_json(f"{server}/metrics/delivery?{query}&bucket=week")
        assert len(report["buckets"]) == 6
        drawn = tab.evaluate(DRAWN)
        assert sorted(drawn) == sorted(CHARTS)
        for chart, series in CHARTS.items():
            for name, (metric, figure) in series.items():
                expected = [as_drawn(bucket[metric][figure]) for bucket in report["buckets"]]
                assert drawn[chart][name] == expected, (benchmark, chart, name)
        levels = tab.evaluate(LEVELS)
        assert levels == {chart: report["total"][chart]["level"] or "" for chart in CHARTS}
        assert levels["deployment_rework_rate"] == ""
        # Each chart's figures as a table too, a row a week.
        rows = tab.evaluate("[...document.querySelectorAll('[data-card] details tbody')].map((t) => t.rows.length)")
        assert rows == [6] * 5


def test_the_last_events_are_the_ranges_latest(server, chromium):
    tab = drawn_page(chromium, f"{server}/dashboard?{urllib.parse.urlencode(RANGE)}")
    shown = tab.evaluate("[...document.querySelectorAll('#events tbody tr')].map((r) => Number(r.cells[5].textContent))")
    events = []
    cursor = None
    while True:
        page = {"service": SERVICE, "from": "2017-11-06", "to": "2017-11-12", "limit": "500"}
        if cursor:
            page["cursor"] = cursor
        body = get_json(f"{server}/events?{urllib.parse.urlencode(page)}")
        events += body["events"]
        cursor = body["next_cursor"]
        if not cursor:
            break
    assert events, "the sample has events in the range's last week"
    assert shown == [event["id"] for event in events[-15:]][::-1]


def test_the_page_asks_nothing_of_anywhere_else_and_breaks_no_policy(server, chromium):
    tab = drawn_page(chromium, f"{server}/dashboard")
    requested = [request["url"] for request in tab.requests()]
    assert any(url.startswith(f"{server}/metrics/delivery?") for url in requested)
    # data: URLs are Chromium's own (the date inputs' icons).
    outside = [url for url in requested if not url.startswith((server + "/", "data:"))]
    assert outside == []
    policy = urllib.request.urlopen(f"{server}/dashboard").headers["content-security-policy"]
    assert policy.startswith("default-src 'none'; script-src 'sha256-")
    assert "connect-src 'self'" in policy and "unsafe" not in policy
    # The browser asks for /favicon.ico by itself (404 here), not the page.
    problems = [
        entry["entry"]
        for entry in tab.events("Log.entryAdded")
        if entry["entry"]["level"] == "error" and not entry["entry"].get("url", "").endswith("/favicon.ico")
    ]
    exceptions = tab.events("Runtime.exceptionThrown")
    assert problems == [] and exceptions == []


def test_what_clients_sent_is_shown_as_text(server, chromium):
    engineer = '<img src=x onerror="document.body.dataset.owned=1">'
    body = {"sha": "abcdef1", "action": "hotfix", "engineer": engineer, "timestamp": "2017-11-12T23:00:00Z",
            "service": SERVICE}
    request = urllib.request.Request(f"{server}/events", json.dumps(body).encode(), {"content-type": "application/json"})
    assert urllib.request.urlopen(request).status == 201
    tab = drawn_page(chromium, f"{server}/dashboard?{urllib.parse.urlencode(RANGE)}")
    cells = tab.evaluate("[...document.querySelectorAll('#events tbody td')].map((c) => c.textContent)")
    assert engineer in cells
    assert tab.evaluate("document.querySelectorAll('#events img').length") == 0
    assert tab.evaluate("document.body.dataset.owned") is None


class KeyedGateway(http.server.ThreadingHTTPServer):
    """API Gateway as a deployed stage is: the page without a key, every JSON route with one
    only (403 otherwise), each forwarded to the server."""

    key = "k3y-for-the-test"


class Forward(http.server.BaseHTTPRequestHandler):
    def do_GET(self):
        keyless = self.path.split("?")[0] == "/dashboard"
        if not keyless and self.headers.get("x-api-key") != KeyedGateway.key:
            body = b'{"message":"Forbidden"}'
            self.send_response(403)
            self.send_header("content-type", "application/json")
            self.send_header("content-length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)
            return
        with urllib.request.urlopen(self.server.upstream + self.path) as response:
            body = response.read()
            self.send_response(response.status)
            for name in ("content-type", "content-security-policy"):
                if response.headers[name]:
                    self.send_header(name, response.headers[name])
            self.send_header("content-length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)

    def log_message(self, *args):
        pass


def test_a_stage_that_wants_a_key_asks_for_it_and_keeps_it_in_the_tab(server, chromium):
    gateway = KeyedGateway(("127.0.0.1", 0), Forward)
    gateway.upstream = server
    threading.Thread(target=gateway.serve_forever, daemon=True).start()
    try:
        url = f"http://127.0.0.1:{gateway.server_address[1]}"
        tab = Tab(chromium, 1280, 900)
        tab.go(f"{url}/dashboard?{urllib.parse.urlencode(RANGE)}")
        assert tab.wait_for("document.body.dataset.ready") == "error"
        assert tab.evaluate("document.querySelector('#key').hidden") is False
        assert tab.evaluate("document.activeElement.name") == "key"
        tab.browser.call("Input.insertText", {"text": KeyedGateway.key}, session=tab.session)
        tab.evaluate("delete document.body.dataset.ready")
        tab.key("Enter", "Enter", 13)
        status = "document.querySelector('#status').textContent"
        assert tab.wait_for("document.body.dataset.ready") == "true", tab.evaluate(status)
        assert tab.evaluate("document.querySelectorAll('svg[data-chart]').length") == 5
        assert tab.evaluate(f"sessionStorage.getItem('pipeline-events-api-key')") == KeyedGateway.key
        assert tab.evaluate("localStorage.length") == 0
        keyed = [r for r in tab.requests() if "/metrics/delivery" in r["url"]]
        assert keyed[0]["headers"].get("x-api-key") is None, "no key before one is given"
        assert keyed[-1]["headers"].get("x-api-key") == KeyedGateway.key
        assert all(KeyedGateway.key not in r["url"] for r in tab.requests())
    finally:
        gateway.shutdown()


def test_at_360_px_nothing_overflows_and_the_keyboard_reaches_everything(server, chromium):
    tab = drawn_page(chromium, f"{server}/dashboard?{urllib.parse.urlencode(RANGE)}", width=360)
    assert tab.evaluate("document.documentElement.scrollWidth") <= 360
    assert tab.evaluate("Math.max(...[...document.querySelectorAll('svg.chart')].map((s) => s.getBoundingClientRect().right))") <= 360
    reached = []
    for _ in range(12):
        tab.key("Tab", "Tab", 9)
        reached.append(tab.evaluate("document.activeElement.name || document.activeElement.tagName.toLowerCase()"))
    for control in ("service", "from", "to", "benchmark", "button", "summary"):
        assert control in reached, reached
    # A table opens from the keyboard.
    while tab.evaluate("document.activeElement.tagName") != "SUMMARY":
        tab.key("Tab", "Tab", 9)
    tab.key("Enter", "Enter", 13)
    assert tab.evaluate("document.activeElement.parentElement.open") is True


def test_the_page_is_one_small_file(server):
    with urllib.request.urlopen(f"{server}/dashboard") as response:
        page = response.read()
        assert response.headers["content-type"] == "text/html; charset=utf-8"
    assert len(gzip.compress(page, 9)) <= 60 * 1024
