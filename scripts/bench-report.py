#!/usr/bin/env python3
"""Turns `make bench` results into a table with budgets, BENCHMARKS.md-ready markdown and an SVG.

Reads target/bench/lambda.json, target/bench/http.json, target/bench/dynamodb.json and
criterion's estimates; writes
target/bench/report.md and target/bench/cold-start.svg, prints the table, and exits 1 if a
budget is missed.
"""
import json
import os
import platform
import statistics
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
OUT = ROOT / "target" / "bench"
MB = 1024 * 1024


def pct(values, p):
    """Nearest-rank percentile."""
    ordered = sorted(values)
    return ordered[max(0, min(len(ordered) - 1, round(p / 100 * (len(ordered) - 1))))]


def spread(values, unit="ms", digits=2):
    return (f"median {statistics.median(values):.{digits}f} {unit}, "
            f"p90 {pct(values, 90):.{digits}f}, min–max {min(values):.{digits}f}–{max(values):.{digits}f} "
            f"(n={len(values)})")


def criterion_estimates():
    found = {}
    for estimates in (ROOT / "target" / "criterion").glob("*/new/estimates.json"):
        bench = json.loads((estimates.parent / "benchmark.json").read_text())
        data = json.loads(estimates.read_text())
        found[bench["full_id"]] = {
            "median_us": data["median"]["point_estimate"] / 1000,
            "low_us": data["median"]["confidence_interval"]["lower_bound"] / 1000,
            "high_us": data["median"]["confidence_interval"]["upper_bound"] / 1000,
        }
    return found


def machine():
    def run(*cmd):
        try:
            return subprocess.run(cmd, capture_output=True, text=True, check=True).stdout.strip()
        except (OSError, subprocess.CalledProcessError):
            return "?"
    model = next((line.split(":", 1)[1].strip() for line in run("lscpu").splitlines()
                  if line.startswith("Model name")), platform.processor() or "?")
    mem_kib = next((int(line.split()[1]) for line in Path("/proc/meminfo").read_text().splitlines()
                    if line.startswith("MemTotal")), 0)
    return (f"{model}, {os.cpu_count()} cores, {mem_kib / MB:.0f} GiB, Linux {platform.release()}, "
            f"{run('rustc', '--version')}")


def svg_chart(init_ms, first_ms, budget_ms):
    width, height, left, bottom, top = 640, 280, 48, 36, 24
    runs = len(init_ms)
    top_value = max(max(init_ms), max(first_ms), budget_ms) * 1.15
    plot_w, plot_h = width - left - 16, height - bottom - top
    bar = plot_w / runs
    y = lambda v: top + plot_h - v / top_value * plot_h
    parts = [f'<svg xmlns="http://www.w3.org/2000/svg" width="{width}" height="{height}" '
             f'font-family="sans-serif" font-size="11">',
             f'<text x="{left}" y="14" font-size="13">Cold start per run: spawn → first poll (init) '
             f'and first /events invocation, ms</text>']
    for tick in range(0, int(top_value) + 1, max(1, int(top_value / 5))):
        parts.append(f'<line x1="{left}" x2="{width - 16}" y1="{y(tick):.1f}" y2="{y(tick):.1f}" stroke="#eee"/>'
                     f'<text x="{left - 6}" y="{y(tick) + 4:.1f}" text-anchor="end">{tick}</text>')
    for i, (init, first) in enumerate(zip(init_ms, first_ms)):
        x = left + i * bar
        parts.append(f'<rect x="{x + 1:.1f}" y="{y(init):.1f}" width="{bar * 0.55:.1f}" '
                     f'height="{top + plot_h - y(init):.1f}" fill="#4a7ebb"/>')
        parts.append(f'<rect x="{x + 1 + bar * 0.55:.1f}" y="{y(first):.1f}" width="{bar * 0.3:.1f}" '
                     f'height="{top + plot_h - y(first):.1f}" fill="#e08a2c"/>')
    parts.append(f'<line x1="{left}" x2="{width - 16}" y1="{y(budget_ms):.1f}" y2="{y(budget_ms):.1f}" '
                 f'stroke="#c0392b" stroke-dasharray="4 3"/>'
                 f'<text x="{width - 18}" y="{y(budget_ms) - 4:.1f}" text-anchor="end" fill="#c0392b">'
                 f'init budget {budget_ms} ms</text>')
    parts.append(f'<text x="{left}" y="{height - 8}">runs 1–{runs}</text>'
                 f'<rect x="{left + 90}" y="{height - 18}" width="10" height="10" fill="#4a7ebb"/>'
                 f'<text x="{left + 104}" y="{height - 9}">init</text>'
                 f'<rect x="{left + 140}" y="{height - 18}" width="10" height="10" fill="#e08a2c"/>'
                 f'<text x="{left + 154}" y="{height - 9}">first invocation</text></svg>')
    return "\n".join(parts)


def main():
    lam = json.loads((OUT / "lambda.json").read_text())
    http = json.loads((OUT / "http.json").read_text())
    crit = criterion_estimates()
    rows, missed = [], []

    def row(figure, result, budget, ok, goal=False):
        """A budget missed fails the run; a goal missed (work in progress) is only shown."""
        rows.append((figure, result, budget, "—" if ok is None else ("yes" if ok else "**no**")))
        if ok is False and not goal:
            missed.append(figure)

    cold, warm, big = lam["cold_start"], lam["warm"], lam["big_store"]
    init_ms, first_ms = cold["init_ms"], cold["first_invocation_ms"]
    row("cold start: spawn → first `next` poll (built-in dataset)", spread(init_ms), "≤ 5 ms median",
        statistics.median(init_ms) <= 5)
    row("first invocation after init (REST event, `/events`)", spread(first_ms), "≤ 2 ms",
        statistics.median(first_ms) <= 2)
    took = warm["took_ms"]
    row(f"warm invocation ({warm['invocations']} REST events over all routes)",
        f"p50 {pct(took, 50):.3f} ms, p99 {pct(took, 99):.3f} ms, max {max(took):.3f} ms; "
        f"{warm['server_errors']} 5xx", "p99 ≤ 1 ms", pct(took, 99) <= 1 and warm["server_errors"] == 0)
    for name, budget in [("range page of 100", 50), ("engineer page of 100", 50),
                         ("daily summary over a year", 100)]:
        est = crit.get(name)
        if est is None:
            row(f"query: {name} (1 000 000 events)", "not measured", f"≤ {budget} µs", False)
        else:
            row(f"query: {name} (1 000 000 events, query + JSON)",
                f"median {est['median_us']:.1f} µs (95% CI {est['low_us']:.1f}–{est['high_us']:.1f})",
                f"≤ {budget} µs", est["median_us"] <= budget)
    for name in ["delivery metrics over a year by day", "delivery metrics over a year by week"]:
        est = crit.get(name)
        row(f"query: {name} (1 000 000 events, figures + JSON)",
            "not measured" if est is None else
            f"median {est['median_us']:.1f} µs (95% CI {est['low_us']:.1f}–{est['high_us']:.1f})",
            "≤ 1 ms", est is not None and est["median_us"] <= 1000)
    # One service of 100 (10 000 events each) against a store of that service alone.
    for name in ["service page of 100", "service daily summary over a year",
                 "service delivery metrics over a year by day"]:
        many, alone = crit.get(f"{name}, 100 services"), crit.get(f"{name}, that service alone")
        if many is None or alone is None:
            row(f"query: {name}, one of 100 services vs. that service alone", "not measured", "≤ 1.5×", False)
            continue
        ratio = many["median_us"] / alone["median_us"]
        row(f"query: {name}, one of 100 services vs. that service alone",
            f"{many['median_us']:.1f} vs {alone['median_us']:.1f} µs: {ratio:.2f}×", "≤ 1.5×", ratio <= 1.5)
    build = crit.get("delivery index build")
    row("delivery metrics' index, built at load (1 000 000 events)",
        "not measured" if build is None else f"median {build['median_us'] / 1000:.0f} ms",
        "report", None)
    first = crit.get("daily summary over a year, first request")
    if first:
        row("query: daily summary over a year, first request (renders each day's JSON once)",
            f"median {first['median_us']:.1f} µs", "report", None)
    load_ms = big["logged_load_ms"]
    row(f"load of {big['events']:,} events ({big['file_bytes'] / MB:.0f} MB JSON lines): spawn → first poll",
        spread(big["init_ms"], digits=0) + (f"; of which store load {statistics.median(load_ms):.0f} ms"
                                             if load_ms else ""),
        "≤ 1 s", statistics.median(big["init_ms"]) <= 1000)
    if load_ms:
        row("load of 1 000 000 events: store load alone", f"median {statistics.median(load_ms):.0f} ms",
            "goal ≤ 300 ms", statistics.median(load_ms) <= 300, goal=True)
    services = lam.get("big_store_services")
    if services is None:
        row("load of 1 000 000 events over 100 services", "not measured", "≤ 400 ms, ≤ 120 MB", False)
    else:
        load_ms = services["logged_load_ms"]
        load = statistics.median(load_ms) if load_ms else None
        rss = statistics.median(services["peak_rss_kib"]) / 1024
        row(f"load of {services['events']:,} events over 100 services: store load",
            "not logged" if load is None else f"median {load:.0f} ms", "≤ 400 ms",
            load is not None and load <= 400)
        row("memory: peak RSS, 1 000 000 events over 100 services", f"{rss:.1f} MB", "≤ 120 MB",
            rss <= 120)
    builtin_mb = statistics.median(cold["peak_rss_kib"]) / 1024
    big_mb = statistics.median(big["peak_rss_kib"]) / 1024
    row("memory: peak RSS, built-in dataset", f"{builtin_mb:.1f} MB", "≤ 16 MB", builtin_mb <= 16)
    row("memory: peak RSS, 1 000 000 events", f"{big_mb:.1f} MB", "≤ 150 MB", big_mb <= 150)
    row("memory: peak RSS, 1 000 000 events, against the goal", f"{big_mb:.1f} MB", "goal ≤ 100 MB",
        big_mb <= 100, goal=True)
    pkg = lam["package"]
    for arch in ("x86_64", "arm64"):
        size = pkg.get(f"{arch}_bytes")
        row(f"package zip ({arch})", f"{size / MB:.2f} MiB" if size else
            "not built here (no aarch64 rust-std; GitHub Actions builds it)",
            "≤ 4 MiB" if size else "≤ 6 MiB in GitHub Actions",
            None if size is None else size <= 4 * MB)
    for key, label in [("health", "`/health`"), ("events_range_page", "`/events` range page of 100")]:
        r = http[key]
        row(f"local server throughput, {label} (wrk, {http['threads']} threads, "
            f"{http['connections']} connections, 10 s)",
            f"{r['requests_per_s']:,.0f} req/s, p99 {r['latency_p99_ms']:.2f} ms, "
            f"{r['socket_errors']} socket errors", "report", None)
    for key, label in [("post_memory", "memory store, no `EVENTS_FILE`"),
                       ("post_events_file", "memory store, `EVENTS_FILE` (append + `sync_data` per event)")]:
        r = http[key]
        row(f"local server, `POST /events`, {label} (wrk, {http['threads']} threads, "
            f"{http['connections']} connections, 10 s)",
            f"{r['requests_per_s']:,.0f} events/s, p50 {r['latency_p50_ms']:.2f} ms, "
            f"p99 {r['latency_p99_ms']:.2f} ms, {r['socket_errors']} socket errors, "
            f"{r['non_2xx_3xx']} non-2xx", "report; every request a 201",
            r["socket_errors"] == 0 and r["non_2xx_3xx"] == 0)
    pushes = http["webhook_pushes"]
    for key, label in [("new_pushes", "new pushes"), ("redeliveries", "redeliveries of one push")]:
        r = pushes[key]
        row(f"local server, `POST /webhooks/github`, {label} of {pushes['commits_per_push']} commits, "
            f"`EVENTS_FILE` (Python client, {pushes['threads']} threads, 10 s)",
            f"{r['per_second']:,.1f} deliveries/s, p50 {r['p50_ms']:.2f} ms, p99 {r['p99_ms']:.2f} ms, "
            f"{r['not_200']} not 200", "report; every delivery a 200", r["not_200"] == 0)
    appended, acknowledged = http["post_events_file_lines_appended"], http["post_events_file"]["requests"]
    # wrk stops counting with requests in flight (one per connection at most): those were
    # appended, their answers not counted.
    row("`POST /events` with `EVENTS_FILE`: lines appended to the file against 201s counted by wrk",
        f"{appended:,} lines, {acknowledged:,} answers", "every answer a line; at most one "
        "line more per connection (in flight when wrk stopped)",
        0 <= appended - acknowledged <= http["connections"])
    # Server CPU per request under wrk, each read route against /health in the same run: /health
    # is measured first and last, and each route is set against the mean of the two.
    entries = http.get("cpu_per_request", [])
    health_runs = [entry["cpu_us_per_request"] for entry in entries if entry["path"] == "/health"]
    health_us = sum(health_runs) / len(health_runs) if health_runs else None
    if health_runs:
        runs = " and ".join(f"{us:.1f}" for us in health_runs)
        row("server CPU per request, `/health` (wrk, 5 s, first and last)",
            f"{health_us:.1f} µs (mean of {runs} µs)", "report", None)
    for entry in entries:
        path, us = entry["path"], entry["cpu_us_per_request"]
        if path != "/health":
            ratio = us / health_us
            row(f"server CPU per request, `{path}` (wrk, 5 s)", f"{us:.1f} µs ({ratio:.3f}× `/health`)",
                "goal ≤ 2× `/health`", ratio <= 2, goal=True)
    soak = http["soak"]
    drift = (http["soak_rss_kib_at_end"] - http["soak_rss_kib_after_warmup"]) / http["soak_rss_kib_after_warmup"]
    row("soak: 60 s at saturation over every route, valid and invalid mixed",
        f"{soak['requests']:,} requests, {soak['socket_errors']} socket errors, {soak['server_errors']} 5xx, "
        f"RSS {http['soak_rss_kib_after_warmup'] / 1024:.1f} → {http['soak_rss_kib_at_end'] / 1024:.1f} MB "
        f"({drift:+.1%})", "0, 0, within 5 %",
        soak["socket_errors"] == 0 and soak["server_errors"] == 0 and abs(drift) <= 0.05)

    # The DynamoDB store against moto: requests per call as the README states them.
    dynamo_path = OUT / "dynamodb.json"
    if dynamo_path.exists():
        dynamo = json.loads(dynamo_path.read_text())
        rate = dynamo["import_events"] / dynamo["import_seconds"]
        row(f"DynamoDB (moto): import of {dynamo['import_events']:,} events, spawn to exit",
            f"{dynamo['import_seconds']:.1f} s, {rate:,.0f} events/s (bounded by moto, a Python stand-in)",
            "report", None)
        stated = {
            "/events?from=2017-11-05&to=2017-11-05&limit=100": 2, "/events?from=2017-11-01&limit=100": 2,
            "/events?action=deploy&from=2017-11-01&limit=100": 2, "/events?engineer=engineer07&limit=100": 1,
            "/engineers/engineer07/events?action=deploy&limit=20": 2, "/engineers": 1,
            "/summaries/daily": 2, "/summaries/daily?from=2017-01-01&to=2017-12-31": 3,
            "/metrics/delivery": 2, "/metrics/delivery?from=2017-01-01&to=2017-12-31&bucket=week": 2,
        }
        for entry in dynamo["routes"]:
            path, made = entry["path"], entry["dynamodb_requests"]
            row(f"DynamoDB (moto, {dynamo.get('table_events', '?'):,} events): `{path}`: requests per call; "
                "the binary's CPU per call",
                f"{made} requests; {entry['cpu_us_per_call']:.0f} µs CPU ({entry['calls']:,} calls in 5 s)",
                f"{stated.get(path, '?')} requests (README)", made == stated.get(path))
        post = dynamo["post"]
        units = post["capacity"]
        row("DynamoDB (moto): `POST /events`: requests per call, without and with an `Idempotency-Key`; "
            "the binary's CPU per call",
            f"{post['dynamodb_requests']} and {post['dynamodb_requests_with_key']} requests; "
            f"{post['cpu_us_per_call']:.0f} µs CPU ({post['calls']:,} calls in 5 s)",
            "4 and 5 requests (README)",
            post["dynamodb_requests"] == 4 and post["dynamodb_requests_with_key"] == 5)
        sizes = ", ".join(f"{name} {size} B" for name, size in units["item_bytes"].items())
        row("DynamoDB: capacity units per `POST /events` of a commit's first deploy, by DynamoDB's sizing "
            f"rules applied to the items it wrote ({sizes}; counter {units['counter_bytes']} B)",
            f"{units['write_units_without_key']} write units ({units['write_units_with_key']} with a key), "
            f"{units['read_units']} read units ({units['read_units_with_key']} with a key)",
            "33 (35) write, 11 (12) read units (README)",
            (units["write_units_without_key"], units["write_units_with_key"],
             units["read_units"], units["read_units_with_key"]) == (33, 35, 11, 12))
    else:
        row("DynamoDB (moto)", "not measured", "requests per call as the README states", False)

    # The dashboard in headless Chromium: a year of weekly figures drawn (scripts/dashboard-page.py).
    page_path = OUT / "dashboard.json"
    if page_path.exists():
        page = json.loads(page_path.read_text())
        row(f"dashboard: {page['weeks']} weeks of one service drawn in headless Chromium, navigation start "
            "to five charts (page, `/metrics/delivery`, drawing)",
            f"median {page['median_ms']:.0f} ms, max {page['max_ms']:.0f} ms ({page['runs']} loads)",
            f"≤ {page['budget_ms']} ms median", page["median_ms"] <= page["budget_ms"])
    else:
        row("dashboard in headless Chromium", "not measured", "≤ 300 ms", False)

    table = ["| figure | result | budget | met |", "|---|---|---|---|"]
    table += [f"| {a} | {b} | {c} | {d} |" for a, b, c, d in rows]
    report = "\n".join([
        f"Machine: {machine()}.", "",
        *table, "",
        "![Cold start per run](docs/cold-start.svg)", "",
    ])
    (OUT / "report.md").write_text(report)
    (OUT / "cold-start.svg").write_text(svg_chart(init_ms, first_ms, 5))
    print(report)
    print(f"wrote {OUT / 'report.md'} and {OUT / 'cold-start.svg'}")
    if missed:
        print("budgets missed: " + "; ".join(missed), file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
