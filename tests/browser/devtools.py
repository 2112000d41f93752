"""Headless Chromium over the DevTools protocol on a pipe, and the debug server, for the page
tests (`test_docs_page.py`, `test_dashboard.py`).

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
import urllib.request
from contextlib import contextmanager
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
SERVER = ROOT / "target" / "debug" / "pipeline-events-api"


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def chromium() -> str:
    """Debian's chromium, or a Chromium or Chrome already installed (`make chromium`)."""
    for name in ("chromium", "chromium-browser", "google-chrome"):
        if path := shutil.which(name):
            return path
    raise RuntimeError("no chromium, chromium-browser or google-chrome: run `make chromium`")


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




@contextmanager
def local_server(binary=SERVER, **variables):
    """The service (the debug build unless `binary` says otherwise) on a free port of
    127.0.0.1, on the built-in sample data unless `variables` say otherwise, until the block
    ends: its base URL."""
    port = free_port()
    env = {"PATH": os.environ.get("PATH", ""), "BIND_ADDR": f"127.0.0.1:{port}", "LOG_LEVEL": "warn", **variables}
    server = subprocess.Popen([str(binary)], env=env, stdout=subprocess.DEVNULL)
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


class Tab:
    """One page of a `Browser`, its network and runtime events recorded."""

    def __init__(self, browser: Browser, width: int, height: int):
        self.browser = browser
        target = browser.call("Target.createTarget", {"url": "about:blank"})["targetId"]
        self.session = browser.call("Target.attachToTarget", {"targetId": target, "flatten": True})["sessionId"]
        for domain in ("Network.enable", "Page.enable", "Runtime.enable", "Log.enable"):
            browser.call(domain, session=self.session)
        self.resize(width, height)

    def resize(self, width: int, height: int):
        self.browser.call(
            "Emulation.setDeviceMetricsOverride",
            {"width": width, "height": height, "deviceScaleFactor": 1, "mobile": width < 600},
            session=self.session,
        )

    def go(self, url: str):
        self.browser.call("Page.navigate", {"url": url}, session=self.session)

    def evaluate(self, expression: str):
        result = self.browser.call(
            "Runtime.evaluate",
            {"expression": expression, "returnByValue": True, "awaitPromise": True},
            session=self.session,
        )
        if "exceptionDetails" in result:
            raise RuntimeError(f"{expression}: {result['exceptionDetails']}")
        return result["result"].get("value")

    def wait_for(self, expression: str, timeout: float = 30):
        """The value of `expression` once it is truthy (an expression that throws, on a page
        still loading, is not yet)."""
        deadline = time.monotonic() + timeout
        while True:
            try:
                value = self.evaluate(expression)
            except RuntimeError:
                value = None
            if value:
                return value
            if time.monotonic() > deadline:
                raise TimeoutError(f"{expression} stayed {value!r}")
            time.sleep(0.1)

    def events(self, method: str) -> list[dict]:
        return [
            event["params"]
            for event in self.browser.events
            if event.get("method") == method and event.get("sessionId") == self.session
        ]

    def requests(self) -> list[dict]:
        """Every request the page made: its URL and headers."""
        return [params["request"] for params in self.events("Network.requestWillBeSent")]

    def key(self, key: str, code: str, virtual: int):
        """A key pressed and released, as a keyboard sends it (Enter with its text, which is
        what submits a form or opens a `<details>`)."""
        text = {"Enter": "\r"}.get(key)
        for kind in ("keyDown", "keyUp"):
            event = {"type": kind, "key": key, "code": code, "windowsVirtualKeyCode": virtual}
            if text and kind == "keyDown":
                event["text"] = text
            self.browser.call("Input.dispatchKeyEvent", event, session=self.session)

    def screenshot(self) -> bytes:
        shot = self.browser.call("Page.captureScreenshot", {"format": "png", "captureBeyondViewport": True}, session=self.session)
        return base64.b64decode(shot["data"])


@contextmanager
def browser():
    """A Chromium with a profile of its own, closed and removed when the block ends."""
    profile = tempfile.mkdtemp(prefix="chromium-")
    try:
        chrome = Browser(profile)
        try:
            yield chrome
        finally:
            chrome.close()
    finally:
        remove(profile)
