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
    """Load ``url``, make every image load now (not lazily), and wait (60 s at most) until the images are complete
    and MathJax's startup typesetting has finished."""
    browser.get(url)
    browser.execute_script("document.querySelectorAll('img[loading=lazy]').forEach(i => i.loading = 'eager');")
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        pending = browser.execute_script(
            "const m = window.MathJax;"
            "if (m && m.startup && m.startup.promise && !window.__watched) {"
            "  window.__watched = true; m.startup.promise.then(() => { window.__typeset = true; }); }"
            "const typeset = window.__typeset === true || !(m && m.startup);"
            "return Array.from(document.images).filter(i => !i.complete).length + (typeset ? 0 : 1);"
        )
        if pending == 0:
            return
        time.sleep(0.2)


def _errors(browser):
    return [e["message"] for e in browser.get_log("browser") if e["level"] == "SEVERE"]


_RECORD = (
    "return {links: Array.from(document.querySelectorAll('a[href]')).map(a => a.href),"
    " math: document.querySelectorAll('.math').length, typeset: document.querySelectorAll('mjx-container').length,"
    " own_mathjax: Array.from(document.scripts).filter(s => s.src.includes('_static/mathjax/tex-chtml.js')).length,"
    " details: Array.from(document.querySelectorAll('details:not(.hide)')).filter(d => d.querySelector('p'))"
    "   .map(d => [d.open, d.querySelector('p').checkVisibility({contentVisibilityAuto: true})])};"
)
SEEN: dict[str, dict] = {}  # page -> what the page test recorded (links, math, solutions), so no page loads twice


def _seen(browser, server, page) -> dict:
    if page not in SEEN:  # not visited by the page test in this session (pytest -k)
        _open(browser, server + page)
        SEEN[page] = browser.execute_script(_RECORD)
    return SEEN[page]


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
    SEEN[page] = browser.execute_script(_RECORD)


def test_internal_links_resolve(browser, server):
    targets = set()
    for page in PAGES:
        targets |= {urllib.parse.urldefrag(h)[0] for h in _seen(browser, server, page)["links"] if h.startswith(server)}
    bad = []
    for url in sorted(targets):
        try:
            with urllib.request.urlopen(url, timeout=30) as resp:
                if resp.status != 200:
                    bad.append((url, resp.status))
        except urllib.error.HTTPError as exc:
            bad.append((url, exc.code))
    assert len(targets) > len(PAGES) and bad == []


@pytest.mark.parametrize("page", ["index.html", *NOTEBOOK_PAGES])
def test_math_is_typeset_by_the_sites_mathjax(browser, server, page):
    rec = _seen(browser, server, page)
    if page != "index.html":  # Sphinx loads MathJax only on pages with math; every notebook has some
        assert rec["math"] > 0, f"{page} has no math to typeset"
    if rec["math"]:
        assert rec["own_mathjax"] == 1, f"{page} does not load the site's MathJax"
    assert rec["own_mathjax"] <= 1 and not rec.get("foreign_mathjax"), f"{page} loads MathJax more than once"
    assert rec["typeset"] >= rec["math"], f"{page}: {rec['math']} math elements, {rec['typeset']} typeset"


def test_solutions_stay_hidden_until_clicked(browser, server):
    # worked solutions written in markdown (<details>) are closed and their text hidden on every page
    closed = [(p, opened, visible) for p in NOTEBOOK_PAGES for opened, visible in _seen(browser, server, p)["details"]]
    assert closed, "no markdown solution found on any page"
    assert [c for c in closed if c[1] or c[2]] == [], "solutions shown before they are opened"
    _open(browser, server + closed[0][0])  # and one of them opens when its summary is clicked
    details = next(d for d in browser.find_elements(By.CSS_SELECTOR, "details:not(.hide)")
                   if d.find_elements(By.TAG_NAME, "p"))  # fmt: skip
    summary = details.find_element(By.TAG_NAME, "summary")
    browser.execute_script("arguments[0].scrollIntoView({block: 'center'});", summary)
    summary.click()
    assert browser.execute_script(
        "return arguments[0].open && arguments[0].querySelector('p').checkVisibility({contentVisibilityAuto: true});",
        details,
    ), "a markdown solution does not open when clicked"
    # solution code cells (tag solution -> hide-cell) are collapsed and open when clicked
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


def test_screenshots_of_the_landing_page_and_a_notebook(browser, server):
    SHOTS.mkdir(parents=True, exist_ok=True)
    for name, page in (("landing", "index.html"), ("notebook_06", next(p for p in NOTEBOOK_PAGES if "/06_" in p))):
        _open(browser, server + page)
        path = SHOTS / f"{name}.png"
        assert browser.save_screenshot(str(path)) and path.stat().st_size > 10_000
