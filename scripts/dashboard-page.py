#!/usr/bin/env python3
"""The dashboard over a year of one service's events, in headless Chromium.

    generate_events … | dashboard-page.py hotfixes > YEAR.jsonl
    dashboard-page.py bench SERVER YEAR.jsonl OUT.json        (make bench)
    dashboard-page.py screenshot SERVER YEAR.jsonl OUT.png    (make dashboard-screenshot)

`hotfixes` turns the generator's sample into the fixture: the first deploy after each rollback
becomes a hotfix (the generator records none), so the rework chart has something to show.
`bench` loads the page ten times and reads, each time, the instant its script marks once the
five charts are drawn (`dashboard-charts`, from the start of navigation: the page, its
`/metrics/delivery` request for 52 weeks, and drawing), against a budget of 300 ms.
`screenshot` writes the rendered page (1280 px wide) as a PNG. SERVER is a release build of the
service (`make run`'s, or the Lambda package's `bootstrap`), started on the fixture.
"""

from __future__ import annotations

import json
import statistics
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "tests" / "browser"))

from devtools import Tab, browser, local_server  # noqa: E402

BUDGET_MS = 300
RUNS = 10
# The fixture's year, Monday 2017-01-02 to Sunday 2017-12-31: 52 weeks.
PAGE = "/dashboard?from=2017-01-02&to=2017-12-31"


def hotfixes() -> None:
    after_rollback = False
    for line in sys.stdin:
        event = json.loads(line)
        if event["action"] == "rollback":
            after_rollback = True
        elif event["action"] == "deploy" and after_rollback:
            event["action"] = "hotfix"
            after_rollback = False
        print(json.dumps(event, separators=(",", ":")))


def drawn(tab: Tab, url: str) -> float:
    tab.go(url)
    state = tab.wait_for("document.body.dataset.ready")
    if state != "true":
        raise SystemExit(f"the dashboard did not draw: {tab.evaluate('document.querySelector(`#status`).textContent')}")
    return tab.evaluate("performance.getEntriesByName('dashboard-charts')[0].startTime")


def main(args: list[str]) -> int:
    if args == ["hotfixes"]:
        hotfixes()
        return 0
    if len(args) != 4 or args[0] not in ("bench", "screenshot"):
        print(__doc__, file=sys.stderr)
        return 2
    mode, server, fixture, out = args
    with local_server(binary=server, EVENTS_FILE=str(Path(fixture).resolve())) as url, browser() as chromium:
        if mode == "screenshot":
            tab = Tab(chromium, 1280, 900)
            drawn(tab, url + PAGE)
            height = tab.evaluate("document.documentElement.scrollHeight")
            tab.resize(1280, height)
            Path(out).write_bytes(tab.screenshot())
            print(f"wrote {out}")
            return 0
        times = []
        for _ in range(RUNS + 1):
            tab = Tab(chromium, 1280, 900)
            times.append(drawn(tab, url + PAGE))
        weeks = tab.evaluate("document.querySelectorAll('svg[data-chart=deployment_frequency] rect').length")
        times = times[1:]  # the first warms the browser's caches of the page
        result = {"weeks": weeks, "runs": RUNS, "drawn_ms": times, "median_ms": statistics.median(times),
                  "max_ms": max(times), "budget_ms": BUDGET_MS}
        Path(out).write_text(json.dumps(result, indent=2) + "\n")
        print(f"dashboard: {weeks} weeks drawn in median {result['median_ms']:.0f} ms, max {result['max_ms']:.0f} ms")
        return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
