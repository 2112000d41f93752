"""`GET /docs` in headless Chromium (Debian's `chromium`): the page lists every path of the
description, and neither it nor anything it loads asks for a URL outside 127.0.0.1. A screenshot
of the rendered page is written to target/docs-page.png (the checkout is left as it was; copy it
over docs/docs-page.png to update the README's screenshot).

Chromium is driven over the DevTools protocol on a pipe (`--remote-debugging-pipe`), so the
requests counted are the page's own (`Network.requestWillBeSent`), not the browser's background
traffic. Name resolution outside 127.0.0.1 is also switched off: a page that tries to load from
a CDN fails here rather than reaching it.
"""

from __future__ import annotations

import base64
import json
import os
import shutil
import signal
import socket
import subprocess
import tempfile
import time
import urllib.parse
import urllib.request
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
SERVER = ROOT / "target" / "debug" / "pipeline-events-api"
SCREENSHOT = ROOT / "target" / "docs-page.png"
WIDTH, HEIGHT = 1280, 1600


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@pytest.fixture(scope="module")
def base_url():
    port = free_port()
    env = {"PATH": os.environ.get("PATH", ""), "BIND_ADDR": f"127.0.0.1:{port}", "LOG_LEVEL": "warn"}
    server = subprocess.Popen([str(SERVER)], env=env, stdout=subprocess.DEVNULL)
    url = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + 30
        while True:
            try:
                urllib.request.urlopen(url + "/health", timeout=1).close()
                break
            except OSError:
                assert server.poll() is None, f"the server exited with {server.returncode}"
                assert time.monotonic() < deadline, "the server did not answer within 30 s"
                time.sleep(0.1)
        yield url
    finally:
        server.send_signal(signal.SIGTERM)
        server.wait(timeout=10)


def chromium() -> str:
    """Debian's chromium, or a Chromium or Chrome already installed (`make chromium`)."""
    for name in ("chromium", "chromium-browser", "google-chrome"):
        if path := shutil.which(name):
            return path
    pytest.fail("no chromium, chromium-browser or google-chrome: run `make chromium`")


class Browser:
    """Chromium with the DevTools protocol on fds 3 (to it) and 4 (from it)."""

    def __init__(self, profile: str):
        to_chromium_r, self._to_chromium = os.pipe()
        self._from_chromium, from_chromium_w = os.pipe()

        # The child must see the pipes as fds 3 and 4, which --remote-debugging-pipe reads and
        # writes. Moved out of the way first (either may be 3 or 4 already), then into place;
        # pass_fds keeps 3 and 4 open through the close of every other inherited fd.
        def child_fds():
            read_end, write_end = os.dup(to_chromium_r), os.dup(from_chromium_w)
            os.dup2(read_end, 3)
            os.dup2(write_end, 4)

        self.process = subprocess.Popen(
            [
                chromium(),
                "--headless",
                "--no-sandbox",
                "--disable-gpu",
                "--disable-dev-shm-usage",
                "--no-first-run",
                "--disable-background-networking",
                "--disable-component-update",
                "--disable-sync",
                f"--user-data-dir={profile}",
                "--host-resolver-rules=MAP * ~NOTFOUND, EXCLUDE 127.0.0.1",
                "--remote-debugging-pipe",
                "about:blank",
            ],
            preexec_fn=child_fds,
            pass_fds=(3, 4, to_chromium_r, from_chromium_w),
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
        )
        os.close(to_chromium_r)
        os.close(from_chromium_w)
        self._buffer = b""
        self._next_id = 0
        self.events: list[dict] = []

    def _read_message(self, deadline: float) -> dict:
        while b"\0" not in self._buffer:
            if time.monotonic() > deadline:
                raise TimeoutError("Chromium did not answer in time")
            chunk = os.read(self._from_chromium, 1 << 16)
            if not chunk:
                raise RuntimeError(f"Chromium closed its pipe (exit {self.process.poll()})")
            self._buffer += chunk
        message, self._buffer = self._buffer.split(b"\0", 1)
        return json.loads(message)

    def call(self, method: str, params: dict | None = None, session: str | None = None, timeout: float = 30):
        self._next_id += 1
        request = {"id": self._next_id, "method": method, "params": params or {}}
        if session:
            request["sessionId"] = session
        os.write(self._to_chromium, json.dumps(request).encode() + b"\0")
        deadline = time.monotonic() + timeout
        while True:
            message = self._read_message(deadline)
            if message.get("id") == self._next_id:
                if "error" in message:
                    raise RuntimeError(f"{method}: {message['error']}")
                return message["result"]
            self.events.append(message)

    def close(self):
        """Asks Chromium to quit and waits for it: its helper processes write to the profile
        until they are gone, and only then can the profile be removed."""
        try:
            self.call("Browser.close", timeout=10)
        except (RuntimeError, TimeoutError, OSError):
            pass  # it may close the pipe before it answers
        try:
            self.process.wait(timeout=10)
        except subprocess.TimeoutExpired:
            self.process.kill()
            self.process.wait()
        os.close(self._to_chromium)
        os.close(self._from_chromium)


def remove(directory: str) -> None:
    """Removes a Chromium profile, waiting out a helper process still writing to it."""
    for _ in range(50):
        try:
            shutil.rmtree(directory)
            return
        except FileNotFoundError:
            return
        except OSError:
            time.sleep(0.1)
    shutil.rmtree(directory)


@pytest.fixture(scope="module")
def rendered(base_url):
    """The page rendered: (the paths it lists, every URL it requested, the server it selects)."""
    profile = tempfile.mkdtemp(prefix="chromium-")
    try:
        browser = Browser(profile)
        try:
            target = browser.call("Target.createTarget", {"url": "about:blank"})["targetId"]
            session = browser.call("Target.attachToTarget", {"targetId": target, "flatten": True})["sessionId"]
            browser.call("Network.enable", session=session)
            browser.call("Page.enable", session=session)
            browser.call(
                "Emulation.setDeviceMetricsOverride",
                {"width": WIDTH, "height": HEIGHT, "deviceScaleFactor": 1, "mobile": False},
                session=session,
            )
            browser.call("Page.navigate", {"url": base_url + "/docs"}, session=session)
            paths: list[str] = []
            deadline = time.monotonic() + 30
            while time.monotonic() < deadline:
                result = browser.call(
                    "Runtime.evaluate",
                    {
                        "expression": "Array.from(document.querySelectorAll('.opblock-summary-path'))"
                        ".map(e => e.dataset.path)",
                        "returnByValue": True,
                    },
                    session=session,
                )
                paths = result["result"].get("value") or []
                if paths:
                    break
                time.sleep(0.2)
            time.sleep(0.5)  # let anything the page starts after rendering show up too
            server = browser.call(
                "Runtime.evaluate",
                {"expression": "document.querySelector('.servers select')?.value", "returnByValue": True},
                session=session,
            )["result"].get("value")
            shot = browser.call("Page.captureScreenshot", {"format": "png"}, session=session)
            SCREENSHOT.parent.mkdir(exist_ok=True)
            SCREENSHOT.write_bytes(base64.b64decode(shot["data"]))
            requested = [
                event["params"]["request"]["url"]
                for event in browser.events
                if event.get("method") == "Network.requestWillBeSent" and event.get("sessionId") == session
            ]
        finally:
            browser.close()
    finally:
        remove(profile)
    return paths, requested, server


def test_the_page_lists_every_path_of_the_description(rendered):
    paths, _, _ = rendered
    described = json.loads((ROOT / "docs" / "openapi.json").read_text())["paths"]
    assert sorted(set(paths)) == sorted(described)


def test_the_page_requests_nothing_outside_127_0_0_1(rendered):
    _, requested, _ = rendered
    assert requested, "the page's own request is seen"
    outside = [
        url
        for url in requested
        if not url.startswith("data:") and urllib.parse.urlsplit(url).hostname != "127.0.0.1"
    ]
    assert outside == []


def test_a_served_page_selects_its_own_server(rendered, base_url):
    _, _, server = rendered
    assert server == base_url


def test_a_screenshot_is_kept(rendered):
    assert SCREENSHOT.stat().st_size > 10_000
    assert SCREENSHOT.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
