"""/docs and the public page in a real browser: Debian's chromium driven by Playwright against a
real `registry serve`, every request to anything but the registry aborted; axe-core checks
accessibility. Full-page screenshots go to test-artifacts/ at the top of the repository.

The first two tests need no browser: they pin the headers and files the browser relies on.
"""

from __future__ import annotations

import json
import re
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from urllib.parse import urlsplit

import pytest
from axe_playwright_python.sync_playwright import Axe
from helpers import ROOT, Server, call, server_on_template
from playwright.sync_api import Browser, Page, Route, sync_playwright

from registry.http import docs

CHROMIUM = Path("/usr/bin/chromium")
CHROMIUM_ARGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]
ARTIFACTS = ROOT / "test-artifacts"
BLOCKING_IMPACTS = {"serious", "critical"}
DEMO_NAMES = [
    entry["name"]
    for entry in json.loads((ROOT / "data" / "demo-catalogue.json").read_text(encoding="utf-8"))[
        "subprocessors"
    ]
]
IMMUTABLE = "public, max-age=31536000, immutable"


# --- what the browser relies on (no browser) ---------------------------------------------------


def test_the_docs_page_has_a_strict_policy_and_loads_only_its_own_files(client):
    page = client.get("/docs")
    assert page.status_code == 200
    assert page.mimetype == "text/html"
    policy = directives(page.headers["Content-Security-Policy"])
    assert policy == {
        "default-src": ["'none'"],
        "script-src": ["'self'"],
        "style-src": ["'self'"],
        "img-src": ["'self'", "data:"],
        "connect-src": ["'self'"],
        "frame-ancestors": ["'none'"],
        "base-uri": ["'none'"],
        "form-action": ["'self'"],
    }
    assert page.headers["X-Content-Type-Options"] == "nosniff"
    assert page.headers["Referrer-Policy"] == "no-referrer"
    html = page.get_data(as_text=True)
    assert re.findall(r"<script[^>]*>", html) == [
        f'<script src="/docs/static/{docs.assets()[0]}/{name}" defer>'
        for name in ("swagger-ui-bundle.js", "docs.js")
    ]
    assert 'data-spec-url="/openapi.json"' in html
    urls = re.findall(r'(?:src|href)="([^"]+)"', html)
    assert all(url.startswith("/") and not url.startswith("//") for url in urls), urls
    for url in urls:
        answer = client.get(url)
        assert answer.status_code == 200, url
        if url.startswith("/docs/static/"):
            assert answer.headers["Cache-Control"] == IMMUTABLE, url


def test_the_docs_files_are_cached_for_good_under_a_url_naming_their_version(client):
    key = docs.assets()[0]
    assert key.startswith(f"{docs.swagger_ui_version()}-")
    assert int(docs.swagger_ui_version().split(".")[0]) >= 5
    url = f"/docs/static/{key}/swagger-ui-bundle.js"
    plain = client.get(url, headers={"Accept-Encoding": "identity"})
    assert plain.status_code == 200
    assert plain.mimetype == "text/javascript"
    assert plain.headers["Cache-Control"] == IMMUTABLE
    assert "Content-Encoding" not in plain.headers
    assert b"SwaggerUIBundle" in plain.data
    packed = client.get(url, headers={"Accept-Encoding": "gzip, br"})
    assert packed.headers["Content-Encoding"] == "gzip"
    assert packed.headers["Vary"] == "Accept-Encoding"
    assert len(packed.data) < len(plain.data) / 2
    assert packed.headers["ETag"] != plain.headers["ETag"]
    unchanged = client.get(
        url, headers={"If-None-Match": plain.headers["ETag"], "Accept-Encoding": "identity"}
    )
    assert unchanged.status_code == 304
    for missing in (
        "/docs/static/0.0.0-stale/swagger-ui-bundle.js",
        f"/docs/static/{key}/index.html",
        f"/docs/static/{key}/oauth2-redirect.html",
        f"/docs/static/{key}/docs.py",
        f"/docs/static/{key}/",
    ):
        assert client.get(missing).status_code == 404, missing


def directives(policy: str) -> dict[str, list[str]]:
    found = {}
    for part in policy.split(";"):
        name, *values = part.split()
        found[name] = values
    return found


# --- in the browser ----------------------------------------------------------------------------


@pytest.fixture(scope="module")
def browser() -> Iterator[Browser]:
    """One chromium for the module; Playwright gives each launch a fresh profile directory."""
    if not CHROMIUM.exists():
        pytest.fail(f"{CHROMIUM} is missing: `make chromium` installs Debian's chromium")
    with sync_playwright() as playwright:
        launched = playwright.chromium.launch(
            executable_path=str(CHROMIUM), args=CHROMIUM_ARGS, headless=True
        )
        yield launched
        launched.close()


@pytest.fixture(scope="module")
def live(apps, tmp_path_factory) -> Iterator[Server]:
    """One `registry serve` for the module, on the template database with the demo loaded."""
    srv = server_on_template(apps, tmp_path_factory.mktemp("browser"))
    srv.cli("init", "--demo")
    srv.start()
    yield srv
    srv.stop()


@dataclass
class Visit:
    """A page whose requests to anything but the registry are aborted, and what it logged."""

    page: Page
    status: int = 0
    aborted: list[str] = field(default_factory=list)
    console: list[str] = field(default_factory=list)
    errors: list[str] = field(default_factory=list)

    def assert_clean(self) -> None:
        """Nothing outside the registry was even tried; no policy violation, no script error."""
        assert not self.aborted, f"the page tried to reach other hosts: {self.aborted}"
        violations = [m for m in self.console if "Content Security Policy" in m]
        assert not violations, violations
        assert not self.errors, self.errors


@pytest.fixture
def visit(browser, live) -> Iterator[Callable[..., Visit]]:
    """visit(path, **context options): a new browser context on the live server's page."""
    contexts = []
    registry_host = f"127.0.0.1:{live.port}"

    def open_page(path: str, **context_options) -> Visit:
        context = browser.new_context(**context_options)
        contexts.append(context)
        seen = Visit(context.new_page())

        def only_the_registry(route: Route) -> None:
            if urlsplit(route.request.url).netloc == registry_host:
                route.continue_()
            else:
                seen.aborted.append(route.request.url)
                route.abort()

        seen.page.route("**/*", only_the_registry)
        seen.page.on("console", lambda message: seen.console.append(message.text))
        seen.page.on("pageerror", lambda error: seen.errors.append(str(error)))
        seen.status = seen.page.goto(live.url + path).status
        return seen

    yield open_page
    for context in contexts:
        context.close()


def screenshot(page: Page, name: str) -> None:
    ARTIFACTS.mkdir(exist_ok=True)
    page.screenshot(path=ARTIFACTS / f"{name}.png", full_page=True)


def run_axe(page: Page, within: str | None = None) -> list[dict]:
    """axe-core's violations on the page as it stands, or in the part a CSS selector names
    (axe.min.js from axe-playwright-python)."""
    return Axe().run(page, context=within).response["violations"]


def blocking(violations: list[dict]) -> list[str]:
    """The serious and critical ones, readably: rule, impact, what it asks, where (first 5)."""
    return [
        f"{v['id']} ({v['impact']}): {v['help']}; at {[n['target'] for n in v['nodes'][:5]]}"
        for v in violations
        if v["impact"] in BLOCKING_IMPACTS
    ]


def operations(server: Server) -> int:
    """How many operations the server's own spec lists."""
    paths = call(server, "GET", "/openapi.json").json()["paths"]
    return sum(len(set(item) - {"parameters", "summary", "description"}) for item in paths.values())


@pytest.mark.browser
def test_the_docs_show_every_operation_with_nothing_loaded_from_elsewhere(visit, live):
    seen = visit("/docs")
    page = seen.page
    page.locator('.opblock-summary-path[data-path="/v1/subprocessors"]').first.wait_for()
    assert page.locator(".opblock").count() == operations(live)
    assert (
        page.locator(".information-container .title").inner_text().startswith("Transfer registry")
    )
    screenshot(page, "docs")
    assert blocking(run_axe(page)) == []
    seen.assert_clean()


@pytest.mark.browser
def test_the_docs_try_a_call_with_a_token(visit, live):
    seen = visit("/docs")
    page = seen.page
    page.locator("button.btn.authorize").first.click()
    page.locator(".modal-ux input").fill(live.tokens["admin"])
    assert blocking(run_axe(page, within=".modal-ux")) == []
    page.locator(".modal-ux button.authorize").click()
    page.locator(".modal-ux button.close-modal").click()
    page.locator("#operations-subprocessors-get_v1_subprocessors .opblock-summary-control").click()
    page.locator(".try-out__btn").first.click()
    # Try it out fills each parameter's example; the example cursor belongs to no list.
    page.locator('tr[data-param-name="cursor"] input').fill("")
    page.locator('tr[data-param-name="country"] input').fill("")
    page.locator('tr[data-param-name="at"] input').fill("")
    page.locator(".btn.execute").click()
    answer = page.locator(".live-responses-table .response")
    answer.first.wait_for()
    assert answer.locator(".response-col_status").first.inner_text().strip() == "200"
    body = answer.locator(".response-col_description pre").first.inner_text()
    assert sorted(item["name"] for item in json.loads(body)["items"]) == sorted(DEMO_NAMES)
    screenshot(page, "docs-try-it-out")
    assert blocking(run_axe(page, within="#operations-subprocessors-get_v1_subprocessors")) == []
    seen.assert_clean()


@pytest.fixture
def public_page(visit) -> Callable[..., Visit]:
    def open_page(**context_options) -> Visit:
        seen = visit("/subprocessors", **context_options)
        assert seen.status == 200
        return seen

    return open_page


@pytest.mark.browser
def test_the_public_page_lists_the_demo_accessibly_with_nothing_loaded_from_elsewhere(
    public_page,
):
    seen = public_page()
    text = seen.page.locator("body").inner_text()
    assert [name for name in DEMO_NAMES if name not in text] == []
    screenshot(seen.page, "subprocessors")
    assert blocking(run_axe(seen.page)) == []
    seen.assert_clean()


@pytest.mark.browser
def test_the_public_page_works_without_javascript(public_page):
    seen = public_page(java_script_enabled=False)
    page = seen.page
    for name in DEMO_NAMES:
        assert page.get_by_text(name).first.is_visible(), name
    screenshot(page, "subprocessors-without-javascript")
    seen.assert_clean()


# What a visitor's screen measures: no sideways scrolling, every name whole (at a phone's width
# and a desktop's), and the page's height, kept in test-artifacts/.
LAYOUT = """() => {
  const root = document.documentElement;
  const wide = [...document.querySelectorAll("body *")]
    .filter((e) => e.getBoundingClientRect().right > root.clientWidth + 0.5)
    .map((e) => e.tagName + (e.id ? "#" + e.id : "") + "." + e.className);
  return {scroll: root.scrollWidth, client: root.clientWidth, height: root.scrollHeight, wide};
}"""
HEIGHTS = ARTIFACTS / "subprocessors-heights.json"


def record_height(width: int, height: int) -> None:
    """The page's height at `width`, beside the screenshots (to compare layouts)."""
    ARTIFACTS.mkdir(exist_ok=True)
    known = json.loads(HEIGHTS.read_text()) if HEIGHTS.exists() else {}
    HEIGHTS.write_text(json.dumps({**known, str(width): height}, indent=1, sort_keys=True))


# Each line box of an element's first text: a word split over two lines, or text cut by its
# box, shows here.
NAME_LINES = """(e) => {
  const range = document.createRange();
  range.selectNodeContents(e.firstChild);
  const tops = new Set([...range.getClientRects()].map((r) => Math.round(r.top)));
  return {lines: tops.size, clipped: e.scrollWidth > e.clientWidth + 1};
}"""


@pytest.mark.browser
@pytest.mark.parametrize("width", [390, 1280])
def test_the_public_page_fits_the_screen_and_shows_every_name_whole(public_page, width):
    seen = public_page(viewport={"width": width, "height": 844})
    page = seen.page

    layout = page.evaluate(LAYOUT)
    assert layout["scroll"] <= layout["client"] == width
    assert layout["wide"] == []
    for name in DEMO_NAMES:
        cell = page.locator("#current th.name", has_text=name).first
        assert cell.is_visible(), name
        box = cell.bounding_box()
        assert box["x"] >= 0 and box["x"] + box["width"] <= width, name
        shown = cell.evaluate(NAME_LINES)
        assert not shown["clipped"], name
        assert shown["lines"] <= len(name.split()), (name, shown)  # no word broken
    record_height(width, layout["height"])
    screenshot(page, f"subprocessors-{width}")
    assert blocking(run_axe(page)) == []
    seen.assert_clean()


@pytest.mark.browser
def test_a_filtered_page_fits_a_phone(visit):
    seen = visit("/subprocessors?country=US", viewport={"width": 390, "height": 844})
    assert seen.status == 200
    layout = seen.page.evaluate(LAYOUT)
    assert layout["scroll"] <= layout["client"] and layout["wide"] == []
    assert seen.page.locator("#outside tbody tr").count() >= 1
    assert blocking(run_axe(seen.page)) == []
    seen.assert_clean()


@pytest.mark.browser
def test_the_public_page_prints_on_a_few_pages(public_page):
    seen = public_page()
    seen.page.emulate_media(media="print")
    pdf = seen.page.pdf(format="A4", prefer_css_page_size=True)
    pages = len(re.findall(rb"/Type\s*/Page[^s]", pdf))
    assert 1 <= pages <= 3, pages
