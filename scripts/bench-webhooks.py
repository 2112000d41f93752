#!/usr/bin/env python3
"""`make bench`, webhook side: deliveries of GitHub pushes per second to a local server.

Each delivery is a new push of COMMITS commits (GitHub's example push to the default branch, its
commit given new SHAs), signed with Python's hmac under GITHUB_WEBHOOK_SECRET and sent over
keep-alive connections by THREADS threads for SECONDS seconds; then the same for redeliveries of
one push (each commit answered as recorded before). The client is Python: the figure is a lower
bound of what the server does. Prints one JSON object.
Usage: bench-webhooks.py BASE_URL EXAMPLES_INDEX_JSON SECONDS
"""
import hashlib
import hmac
import http.client
import json
import os
import sys
import threading
import time
import urllib.parse

COMMITS = 100
THREADS = 2


def default_branch_push(index_path):
    webhooks = json.load(open(index_path))
    examples = next(hook for hook in webhooks if hook["name"] == "push")["examples"]
    return next(e for e in examples if e["ref"] == "refs/heads/master" and e["commits"])


def push_body(example, first):
    push = json.loads(json.dumps(example))
    commit = push["commits"][0]
    push["commits"] = [dict(commit, id=f"{n:040x}") for n in range(first, first + COMMITS)]
    push["after"] = push["commits"][-1]["id"]
    return json.dumps(push).encode()


def run(base, bodies, seconds, secret):
    """Sends `bodies(n)` from THREADS threads for `seconds`: (deliveries, seconds, latencies)."""
    url = urllib.parse.urlsplit(base)
    latencies, failures, lock = [], [], threading.Lock()
    counter = iter(range(10**9))
    deadline = time.monotonic() + seconds

    def worker():
        connection = http.client.HTTPConnection(url.hostname, url.port)
        while time.monotonic() < deadline:
            with lock:
                n = next(counter)
            body = bodies(n)
            signature = "sha256=" + hmac.new(secret, body, hashlib.sha256).hexdigest()
            started = time.monotonic()
            connection.request("POST", "/webhooks/github", body, {
                "content-type": "application/json", "x-github-event": "push",
                "x-github-delivery": f"bench-{n}", "x-hub-signature-256": signature})
            response = connection.getresponse()
            response.read()
            elapsed = time.monotonic() - started
            with lock:
                latencies.append(elapsed)
                if response.status != 200:
                    failures.append(response.status)

    started = time.monotonic()
    threads = [threading.Thread(target=worker) for _ in range(THREADS)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    return len(latencies), time.monotonic() - started, sorted(latencies), failures


def figures(result):
    deliveries, seconds, latencies, failures = result
    pick = lambda p: latencies[min(len(latencies) - 1, round(p * (len(latencies) - 1)))] * 1000
    return {"deliveries": deliveries, "seconds": round(seconds, 2),
            "per_second": round(deliveries / seconds, 1), "p50_ms": round(pick(0.5), 2),
            "p99_ms": round(pick(0.99), 2), "not_200": len(failures)}


def main():
    base, index, seconds = sys.argv[1], sys.argv[2], float(sys.argv[3])
    secret = os.environb[b"GITHUB_WEBHOOK_SECRET"]
    example = default_branch_push(index)
    new = figures(run(base, lambda n: push_body(example, n * COMMITS), seconds, secret))
    again = push_body(example, 0)
    redelivered = figures(run(base, lambda n: again, seconds, secret))
    print(json.dumps({"commits_per_push": COMMITS, "threads": THREADS, "new_pushes": new,
                      "redeliveries": redelivered}))


if __name__ == "__main__":
    main()
