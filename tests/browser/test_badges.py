"""`GET /badges/{metric}` as a README shows it: well-formed SVG (parsed as XML), its text the
figure `/metrics/delivery` answers, and an image Chromium draws at its stated size."""

from __future__ import annotations

import json
import urllib.request
import xml.etree.ElementTree as ElementTree

import pytest

from devtools import Tab, browser, local_server

SVG = "{http://www.w3.org/2000/svg}"
QUERY = "service=default&from=2017-10-02&to=2017-11-12"


@pytest.fixture(scope="module")
def server():
    with local_server() as url:
        yield url


def test_each_badge_is_svg_whose_text_is_the_metrics_figure(server):
    with urllib.request.urlopen(f"{server}/metrics/delivery?{QUERY}") as response:
        total = json.load(response)["total"]
    per_week = total["deployment_frequency"]["per_day"] * 7
    rate = total["change_failure_rate"]["rate"] * 100
    expected = {
        "deployment_frequency": ("deploys/week", f"{per_week:.1f}".removesuffix(".0"), total["deployment_frequency"]["level"]),
        "change_failure_rate": ("change failure rate", f"{rate:.1f}".removesuffix(".0") + " %", total["change_failure_rate"]["level"]),
        "lead_time": ("lead time", None, total["lead_time"]["level"]),
    }
    for metric, (label, figure, level) in expected.items():
        with urllib.request.urlopen(f"{server}/badges/{metric}?{QUERY}") as response:
            assert response.headers["content-type"] == "image/svg+xml"
            root = ElementTree.fromstring(response.read())
        assert root.tag == f"{SVG}svg"
        texts = [text.text for text in root.iter(f"{SVG}text")]
        assert texts[0] == label
        value, shown_level = texts[1].split(" · ")
        assert shown_level == level
        if figure is not None:
            assert value == figure
        assert root.find(f"{SVG}title").text == f"{label}: {texts[1]}"


def test_chromium_draws_a_badge_as_an_image(server):
    with browser() as chromium:
        tab = Tab(chromium, 800, 200)
        tab.go(f"{server}/badges/lead_time?{QUERY}")
        size = tab.wait_for("document.documentElement && document.documentElement.getAttribute('width')")
        assert int(size) > 100
        assert tab.evaluate("document.documentElement.namespaceURI") == "http://www.w3.org/2000/svg"
