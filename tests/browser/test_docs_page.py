"""`GET /docs` in headless Chromium (Debian's `chromium`, driven as `devtools.py` says): the
page lists every path of the description, and neither it nor anything it loads asks for a URL
outside 127.0.0.1. A screenshot of the rendered page is written to target/docs-page.png (the
checkout is left as it was; copy it over docs/docs-page.png to update the README's screenshot).
"""

from __future__ import annotations

import base64
import json
import tempfile
import time
import urllib.parse

import pytest

from devtools import ROOT, Browser, local_server, remove

SCREENSHOT = ROOT / "target" / "docs-page.png"
WIDTH, HEIGHT = 1280, 1600


@pytest.fixture(scope="module")
def base_url():
    with local_server() as url:
        yield url


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
