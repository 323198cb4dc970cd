"""The rendered course (``make book``) in a real browser: headless Chromium (Debian's ``chromium`` and
``chromium-driver``) driven by Selenium over every page of ``build/book/html``, served on localhost.

Run by ``make test-book`` (part of ``make test``), after ``make book``. Every page loads with no console error and
fetches nothing from another host; every image loads; every internal link resolves; math is typeset by the site's own
MathJax; solutions stay hidden until clicked. Screenshots of the landing page and one notebook page go to
``build/book/screenshots/``.
"""

import functools
import http.server
import os
import shutil
import threading
import time
import urllib.error
import urllib.parse
import urllib.request
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
SITE = Path(os.environ.get("OTLATENT_BOOK_HTML", ROOT / "build" / "book" / "html"))
SHOTS = SITE.parent / "screenshots"
# Debian's chromium (what .ci/run installs), else a Chrome on PATH (GitHub's runners: google-chrome, chromedriver)
CHROMIUM = next(filter(None, map(shutil.which, ("chromium", "chromium-browser", "google-chrome"))), "/usr/bin/chromium")
CHROMEDRIVER = shutil.which("chromedriver") or os.path.join(
    os.environ.get("CHROMEWEBDRIVER", "/usr/bin"), "chromedriver"
)

if not (SITE / "index.html").exists():
    pytest.fail(f"no site at {SITE}: run `make book` first", pytrace=False)
if not (Path(CHROMIUM).exists() and Path(CHROMEDRIVER).exists()):
    pytest.fail("headless Chromium is needed: apt-get install chromium chromium-driver (Debian)", pytrace=False)

webdriver = pytest.importorskip("selenium.webdriver", reason="selenium is in the book extra: pip install -e .[book]")
from selenium.webdriver.chrome.service import Service  # noqa: E402
from selenium.webdriver.common.by import By  # noqa: E402

PAGES = sorted(str(p.relative_to(SITE)) for p in SITE.rglob("*.html") if "_static" not in p.parts)
NOTEBOOK_PAGES = [p for p in PAGES if p.startswith("notebooks/")]
LINKS: dict[str, list[str]] = {}  # page -> the links on it, collected while each page is checked


@pytest.fixture(scope="module")
def server():
    handler = functools.partial(_QuietHandler, directory=str(SITE))
    httpd = http.server.ThreadingHTTPServer(("127.0.0.1", 0), handler)
    thread = threading.Thread(target=httpd.serve_forever, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{httpd.server_address[1]}/"
    httpd.shutdown()


class _QuietHandler(http.server.SimpleHTTPRequestHandler):
    def log_message(self, *args):
        pass


@pytest.fixture(scope="module")
def browser():
    options = webdriver.ChromeOptions()
    options.binary_location = CHROMIUM
    for flag in ("--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
                 "--disable-background-networking", "--disable-component-update", "--disable-sync",
                 "--disable-dev-shm-usage", "--window-size=1280,1600"):  # fmt: skip
        options.add_argument(flag)
    options.set_capability("goog:loggingPrefs", {"browser": "ALL"})
    driver = webdriver.Chrome(service=Service(CHROMEDRIVER), options=options)
    driver.set_page_load_timeout(120)
    yield driver
    driver.quit()


def _open(browser, url):
    browser.get(url)
    browser.execute_script("document.querySelectorAll('img[loading=lazy]').forEach(i => i.loading = 'eager');")
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        pending = browser.execute_script(
            "const m = window.MathJax; const typeset = !m || !m.startup || m.startup.document.state() >= 200;"
            "return Array.from(document.images).filter(i => !i.complete).length + (typeset ? 0 : 1);"
        )
        if pending == 0:
            break
        time.sleep(0.2)


def _errors(browser):
    return [e["message"] for e in browser.get_log("browser") if e["level"] == "SEVERE"]


@pytest.mark.parametrize("page", PAGES)
def test_page_loads_everything_from_the_site(browser, server, page):
    _open(browser, server + page)
    assert _errors(browser) == [], f"{page}: console errors"
    foreign = browser.execute_script(
        "return performance.getEntriesByType('resource').map(e => e.name)"
        ".filter(u => !u.startsWith(location.origin) && !u.startsWith('data:'));"
    )
    assert foreign == [], f"{page} fetched from other hosts"
    broken = browser.execute_script(
        "return Array.from(document.images).filter(i => !(i.complete && i.naturalWidth > 0)).map(i => i.src);"
    )
    assert broken == [], f"{page}: images that did not load"
    missing_anchors = browser.execute_script(
        "return Array.from(document.querySelectorAll('a[href^=\"#\"]')).map(a => a.getAttribute('href').slice(1))"
        ".filter(id => id && !document.getElementById(decodeURIComponent(id)));"
    )
    assert missing_anchors == [], f"{page}: links to anchors that are not on the page"
    LINKS[page] = browser.execute_script("return Array.from(document.querySelectorAll('a[href]')).map(a => a.href);")


def test_internal_links_resolve(browser, server):
    targets = set()
    for page in PAGES:
        if page not in LINKS:  # not visited by the page test in this session (pytest -k)
            _open(browser, server + page)
            LINKS[page] = browser.execute_script(
                "return Array.from(document.querySelectorAll('a[href]')).map(a => a.href);"
            )
        # the pages' links were collected on another server port in another session only if LINKS was filled there
        targets |= {urllib.parse.urldefrag(h)[0] for h in LINKS[page] if h.startswith(server)}
    bad = []
    for url in sorted(targets):
        try:
            with urllib.request.urlopen(url, timeout=30) as resp:
                if resp.status != 200:
                    bad.append((url, resp.status))
        except urllib.error.HTTPError as exc:
            bad.append((url, exc.code))
    assert len(targets) > len(PAGES) and bad == []


@pytest.mark.parametrize("page", NOTEBOOK_PAGES[:3] + ["index.html"])
def test_math_is_typeset_by_the_sites_mathjax(browser, server, page):
    _open(browser, server + page)
    counts = browser.execute_script(
        "return [document.querySelectorAll('.math').length, document.querySelectorAll('mjx-container').length,"
        " Array.from(document.scripts).filter(s => s.src.includes('_static/mathjax/tex-chtml.js')).length];"
    )
    math, typeset, own_mathjax = counts
    assert own_mathjax == 1, f"{page} does not load the site's MathJax"
    if page != "index.html":
        assert math > 0, f"{page} has no math to typeset"
    assert typeset >= math, f"{page}: {math} math elements, {typeset} typeset"


def test_solutions_stay_hidden_until_clicked(browser, server):
    page = next(p for p in NOTEBOOK_PAGES if p.startswith("notebooks/09"))
    _open(browser, server + page)
    cells = browser.find_elements(By.CSS_SELECTOR, ".cell.tag_hide-cell")
    assert cells, "no solution cell on the page"
    cell = cells[0]
    inner = cell.find_element(By.CSS_SELECTOR, ".cell_input")
    assert not inner.is_displayed(), "a solution cell is visible before it is opened"
    summary = cell.find_element(By.CSS_SELECTOR, "summary, button.toggle-button")
    browser.execute_script("arguments[0].scrollIntoView({block: 'center'});", summary)
    summary.click()
    time.sleep(0.5)
    assert inner.is_displayed(), "a solution cell does not open when clicked"
    # worked solutions written in markdown (<details>, not the code cells' toggles) are closed too
    shown = 0
    for page in NOTEBOOK_PAGES:
        _open(browser, server + page)
        for d in browser.find_elements(By.CSS_SELECTOR, "details:not(.hide)"):
            body = d.find_elements(By.CSS_SELECTOR, "p")
            if body:
                assert d.get_attribute("open") is None and not body[0].is_displayed(), f"{page}: an open solution"
                shown += 1
    assert shown > 0, "no markdown solution found on any page"


def test_screenshots_of_the_landing_page_and_a_notebook(browser, server):
    SHOTS.mkdir(parents=True, exist_ok=True)
    for name, page in (("landing", "index.html"), ("notebook_06", next(p for p in NOTEBOOK_PAGES if "/06_" in p))):
        _open(browser, server + page)
        path = SHOTS / f"{name}.png"
        assert browser.save_screenshot(str(path)) and path.stat().st_size > 10_000
