"""``gridsage console`` as a user runs it: the server in a subprocess, the page in real headless Chromium.

The browser test needs Debian's ``chromium`` (``/usr/bin/chromium``) and Python
``playwright`` (its driver only: ``playwright install`` is never run; the
system browser is launched by path).  It skips, saying which is missing, when
either is absent; with ``--full`` (as ``.ci/run`` does) it first installs Chromium with
``.ci/chromium.sh``.  Set ``GRIDSAGE_SCREENSHOT=docs/console.png`` to keep the
screenshot it takes (relative paths are from the repository root); otherwise
it goes to the test's temporary folder.
"""

from __future__ import annotations

import contextlib
import os
import re
import socket
import subprocess
import sys
import tempfile
import time
import urllib.error
import urllib.request
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
CHROMIUM = "/usr/bin/chromium"
CHROMIUM_ARGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
                 "--disable-background-networking", "--disable-component-update", "--disable-sync"]
SCENARIO = "case39_unit_trip"
QUESTION = "What is overloaded, and what should I do first?"
SERVER_START_S = 60  # bound on the console starting to answer
ANSWER_S = 240  # bound on the first answer (imports, then load, power flows, N-1, validated actions)


def free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


@contextlib.contextmanager
def console_server():
    """``python -m gridsage console`` on a free loopback port, with no model; yields its base URL."""
    port = free_port()
    env = {k: v for k, v in os.environ.items() if k != "GRIDSAGE_MODEL"}  # the planner answers: deterministic
    env["GRIDSAGE_GRAPH_DIR"] = tempfile.mkdtemp(prefix="gridsage-console-graph-")
    with tempfile.TemporaryFile(mode="w+") as log:
        proc = subprocess.Popen([sys.executable, "-m", "gridsage", "console", "--port", str(port)], stdout=log,
                                stderr=subprocess.STDOUT, cwd=tempfile.gettempdir(), env=env)
        base = f"http://127.0.0.1:{port}"
        try:
            deadline = time.monotonic() + SERVER_START_S
            while True:
                if proc.poll() is not None:
                    log.seek(0)
                    pytest.fail(f"console exited with {proc.returncode}:\n{log.read()}")
                try:
                    with urllib.request.urlopen(f"{base}/api/scenarios", timeout=5) as response:
                        if response.status == 200:
                            break
                except OSError:
                    if time.monotonic() > deadline:
                        pytest.fail(f"console did not answer on port {port} within {SERVER_START_S} s")
                    time.sleep(0.2)
            yield base
        finally:
            proc.terminate()
            try:
                proc.wait(timeout=10)
            except subprocess.TimeoutExpired:
                proc.kill()
                proc.wait()


def test_page_is_self_contained():
    """The shipped page names no URL: no CDN, no web font, nothing to fetch off the machine."""
    from gridsage.console import page_html

    html = page_html()
    assert "://" not in html and "//cdn" not in html.lower()
    assert all(v.startswith(("data:", "#")) for v in re.findall(r'(?:src|href)\s*=\s*"([^"]*)"', html))


def _browser(install: bool):
    """Python playwright's sync API, or a skip naming what is missing; with ``install``, Chromium is installed first."""
    if not Path(CHROMIUM).exists() and install:
        subprocess.run(["bash", str(ROOT / ".ci" / "chromium.sh")], check=False, timeout=900)
    if not Path(CHROMIUM).exists():
        pytest.skip(f"{CHROMIUM} is missing (bash .ci/chromium.sh, or apt-get install -y chromium)")
    try:
        from playwright.sync_api import sync_playwright
    except ImportError:
        pytest.skip("Python playwright is missing (pip install playwright==1.65.2; no `playwright install` needed)")
    return sync_playwright


@pytest.mark.browser
def test_console_in_headless_chromium(tmp_path, request):
    sync_playwright = _browser(install=request.config.getoption("--full"))
    shot = Path(os.environ.get("GRIDSAGE_SCREENSHOT") or tmp_path / "console.png")
    shot = shot if shot.is_absolute() else ROOT / shot
    with console_server() as base, sync_playwright() as pw:
        browser = pw.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS, headless=True)
        try:
            context = browser.new_context(viewport={"width": 1440, "height": 1060})
            requested, refused = [], []

            def gate(route):  # anything leaving the machine is refused, and fails the test
                url = route.request.url
                if url.startswith((f"{base}/", "data:")):
                    route.continue_()
                else:
                    refused.append(url)
                    route.abort()

            context.route("**/*", gate)
            page = context.new_page()
            page.on("request", lambda request: requested.append(request.url))
            errors = []
            page.on("pageerror", lambda exc: errors.append(str(exc)))

            page.goto(f"{base}/")
            page.wait_for_selector(f"#scenario option[value='{SCENARIO}']", state="attached")  # the scenarios loaded
            page.select_option("#scenario", SCENARIO)
            page.fill("#question", QUESTION)
            started = time.monotonic()
            page.click("#send")
            page.wait_for_selector(".answer", timeout=ANSWER_S * 1000)
            answered = time.monotonic() - started

            # the conversation and the answer
            assert page.locator(".question").inner_text() == QUESTION
            answer = page.locator(".answer").first
            assert answer.locator(".verdict").inner_text().lower() == "violations"
            assert "line 6" in answer.locator(".claims").inner_text()
            assert answer.locator(".actions li").count() >= 1
            assert answer.locator(".standard").count() >= 1 and answer.locator(".grounding").count() == 1
            assert "deterministic planner" in answer.locator(".who").inner_text()

            # the tool calls, each with status and evidence id
            rows = page.locator("tr.tool-call")
            assert rows.count() >= 5
            tools = [rows.nth(i).locator("td.tool").inner_text() for i in range(rows.count())]
            assert {"load_grid", "run_power_flow", "apply_events", "run_contingency_analysis", "apply_actions"} <= set(tools)
            evidence = {rows.nth(i).get_attribute("data-evidence"): tools[i] for i in range(rows.count())}
            assert all(re.fullmatch(r"ev-\d{4}", e) for e in evidence)

            # the chart: bars before and after the actions, each from a run_power_flow evidence record, and the limit
            bars = page.locator("#chart rect.bar")
            assert bars.count() >= 4
            series = {bars.nth(i).get_attribute("data-series") for i in range(bars.count())}
            assert series == {"before actions", "after actions"}
            for i in range(bars.count()):
                assert evidence[bars.nth(i).get_attribute("data-evidence")] == "run_power_flow"
                assert float(bars.nth(i).get_attribute("data-value")) > 0
            assert page.locator("#chart line.limit").count() == 1
            assert "before and after the proposed actions" in page.locator("#chart-title").text_content()

            shot.parent.mkdir(parents=True, exist_ok=True)
            page.screenshot(path=str(shot))
            assert shot.stat().st_size > 10_000
            print(f"answered in {answered:.1f} s; {rows.count()} tool calls, {bars.count()} bars; screenshot {shot}")

            assert not errors, errors
            assert not refused, f"the page tried to leave the machine: {refused}"
            assert requested and all(u.startswith((f"{base}/", "data:")) for u in requested), requested
        finally:
            browser.close()


def test_console_rejects_bad_requests():
    """Wrong content type, empty question, foreign Host header: refused with a typed error, no answer computed."""
    with console_server() as base:
        def post(body: bytes, content_type: str = "application/json") -> tuple[int, str]:
            request = urllib.request.Request(f"{base}/api/ask", data=body, headers={"Content-Type": content_type})
            try:
                with urllib.request.urlopen(request, timeout=30) as response:
                    return response.status, response.read().decode()
            except urllib.error.HTTPError as exc:
                return exc.code, exc.read().decode()

        assert post(b'{"question": "x"}', "text/plain")[0] == 415
        status, text = post(b'{"question": "  "}')
        assert status == 400 and '"field":"question"' in text
        assert post(b"[1, 2]")[0] == 400
        request = urllib.request.Request(f"{base}/", headers={"Host": "attacker.example"})
        with pytest.raises(urllib.error.HTTPError) as refused:
            urllib.request.urlopen(request, timeout=10)
        assert refused.value.code == 400

