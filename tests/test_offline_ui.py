"""The browser pages work offline (issue 12, item 8): the landing page, GraphiQL, Swagger UI and
the calendar page (issue 14) reference nothing outside the service, every file they load is served
here, and the vendored files are exactly the pinned packages' (scripts/vendor-assets,
static/vendor/VERSIONS).

No database: the pages and the static files need none (the app is built without Tortoise)."""

from __future__ import annotations

import hashlib
import re
from collections.abc import AsyncIterator
from html.parser import HTMLParser
from pathlib import Path
from urllib.parse import urljoin, urlsplit

import httpx
import pytest
from graphql import build_schema, parse, validate

from leko_bookings.app import create_app
from leko_bookings.schema import sdl
from leko_bookings.settings import Settings
from leko_bookings.ui import DEFAULT_QUERY, STATIC_DIR
from tests.conftest import SECRET

ORIGIN = "http://testserver"
PAGES = ["/", "/graphql", "/v1/docs", "/calendar"]
HTML = {"Accept": "text/html,application/xhtml+xml,*/*;q=0.8"}  # what a browser sends
VENDOR = STATIC_DIR / "vendor"
SCRIPT = Path(__file__).resolve().parents[1] / "scripts" / "vendor-assets"
URL_ATTRIBUTES = {"src", "href", "srcset", "action", "formaction", "poster", "data", "background"}
# An absolute or protocol-relative URL inside inline script, style or any other attribute.
EMBEDDED_URL = re.compile(r"""https?://[^\s"'<>)]+|(?<=["'(=\s])//[\w-]+\.[\w.-]+[^\s"'<>)]*""")
CONTENT_TYPES = {
    ".js": ("text/javascript", "application/javascript"),
    ".css": ("text/css",),
    ".svg": ("image/svg+xml",),
    ".png": ("image/png",),
}


class References(HTMLParser):
    """The URLs a page loads or links (URL attributes), and the text it runs or styles with
    (inline scripts, style elements and every other attribute value)."""

    def __init__(self) -> None:
        super().__init__()
        self.urls: list[str] = []
        self.inline: list[str] = []
        self._in_code = False

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        self._in_code = tag in ("script", "style")
        for name, value in attrs:
            if value is None:
                continue
            if name in URL_ATTRIBUTES:
                self.urls.extend(v.split()[0] for v in value.split(",") if v.strip())
            else:
                self.inline.append(value)

    def handle_endtag(self, tag: str) -> None:
        self._in_code = False

    def handle_data(self, data: str) -> None:
        if self._in_code:
            self.inline.append(data)


def references(html: str) -> References:
    parser = References()
    parser.feed(html)
    parser.close()
    return parser


def external(refs: References, origin: str = ORIGIN) -> list[str]:
    """What the page would fetch or link that is not served by `origin` (a data: URL is part of
    the page itself)."""
    here = urlsplit(origin).netloc

    def elsewhere(url: str) -> bool:
        parts = urlsplit(url)
        return parts.scheme not in ("", "data", "http", "https") or parts.netloc not in ("", here)

    embedded = [u for text in refs.inline for u in EMBEDDED_URL.findall(text)]
    return [u for u in [*refs.urls, *embedded] if elsewhere(u)]


@pytest.fixture(scope="module")
async def client() -> AsyncIterator[httpx.AsyncClient]:
    app = create_app(
        Settings(jwt_secret=SECRET, database_url="sqlite://:memory:"), manage_database=False
    )
    transport = httpx.ASGITransport(app=app, raise_app_exceptions=False)
    async with httpx.AsyncClient(transport=transport, base_url=ORIGIN) as c:
        yield c


async def page(client: httpx.AsyncClient, path: str) -> httpx.Response:
    response = await client.get(path, headers=HTML)  # no Authorization: none is needed
    assert response.status_code == 200, response.text
    assert response.headers["content-type"].startswith("text/html")
    return response


# --- the pages reference nothing outside the service ------------------------------------------


def test_the_checker_sees_external_references():
    html = (
        '<link href="https://unpkg.com/x.css"><script src="//cdn.example.org/x.js"></script>'
        "<script>fetch('https://api.example.com/q')</script><img srcset='/a.png 1x, "
        'http://img.example.com/b.png 2x\'><div style="background: url(//e.example.net/i)">'
        '<a href="/v1/docs"></a><link href="data:image/png;base64,AAAA"><a href="'
        f'{ORIGIN}/graphql"></a>'
    )
    assert external(references(html)) == [
        "https://unpkg.com/x.css",
        "//cdn.example.org/x.js",
        "http://img.example.com/b.png",
        "https://api.example.com/q",
        "//e.example.net/i",
    ]


@pytest.mark.parametrize("path", PAGES)
async def test_a_page_references_nothing_outside_the_service(client, path):
    refs = references((await page(client, path)).text)
    assert refs.urls, "the page loads nothing: the checker read it wrong"
    assert external(refs) == []


@pytest.mark.parametrize("path", PAGES)
async def test_every_file_a_page_loads_is_served_with_its_type_and_a_long_cache(client, path):
    refs = references((await page(client, path)).text)
    assets = [u for u in refs.urls if urlsplit(u).path.startswith("/static/")]
    assert assets
    for url in assets:
        response = await client.get(urljoin(ORIGIN + path, url))
        assert response.status_code == 200, url
        suffix = Path(urlsplit(url).path).suffix
        assert response.headers["content-type"].startswith(CONTENT_TYPES[suffix]), url
        assert "immutable" in response.headers["cache-control"], url  # versioned by `?v=`
        on_disk = STATIC_DIR / urlsplit(url).path.removeprefix("/static/")
        assert response.content == on_disk.read_bytes()


async def test_an_unversioned_static_url_is_revalidated(client):
    response = await client.get("/static/vendor/graphiql/graphiql.min.js")
    assert response.status_code == 200
    assert response.headers["cache-control"] == "no-cache"
    assert "etag" in response.headers


async def test_a_missing_static_file_is_a_404(client):
    assert (await client.get("/static/vendor/nothing.js")).status_code == 404


def test_the_vendored_style_sheets_load_nothing_from_elsewhere():
    for sheet in VENDOR.rglob("*.css"):
        text = sheet.read_text(encoding="utf-8")
        assert "@import" not in text, sheet
        targets = re.findall(r"url\(\s*['\"]?([^'\")]*)", text)
        assert targets, sheet
        assert [t for t in targets if not t.startswith("data:")] == [], sheet


# --- the vendored files are the pinned packages' ----------------------------------------------


def manifest() -> list[list[str]]:
    """[package@version, sha256, path under vendor/] per line of VERSIONS."""
    lines = (VENDOR / "VERSIONS").read_text(encoding="utf-8").splitlines()
    return [line.split() for line in lines if line and not line.startswith("#")]


def test_every_vendored_file_matches_its_recorded_digest():
    listed = {path for _, _, path in manifest()}
    on_disk = {p.relative_to(VENDOR).as_posix() for p in VENDOR.rglob("*") if p.is_file()} - {
        "VERSIONS"
    }
    assert listed == on_disk
    for _, digest, path in manifest():
        assert hashlib.sha256((VENDOR / path).read_bytes()).hexdigest() == digest, path


def test_the_vendored_versions_are_the_script_pins():
    pins = set(re.findall(r'^\s+"(\S+@\d[\w.-]*) ', SCRIPT.read_text(encoding="utf-8"), re.M))
    assert pins == {spec for spec, _, _ in manifest()}
    assert {spec.rsplit("@", 1)[0] for spec in pins} == {p.name for p in VENDOR.iterdir()} - {
        "VERSIONS"
    }


# --- GraphiQL ---------------------------------------------------------------------------------


async def test_graphiql_is_ours_with_the_bearer_header_prefilled(client):
    html = (await page(client, "/graphql")).text
    assert 'data-headers="{&quot;Authorization&quot;: &quot;Bearer &quot;}"' in html
    assert 'data-endpoint="/graphql"' in html
    assert "leko-bookings token --sub &lt;uuid&gt; --role athlete" in html
    assert "Strawberry" not in html


def test_graphiqls_default_query_is_valid():
    assert validate(build_schema(sdl()), parse(DEFAULT_QUERY)) == []


async def test_graphql_still_answers_queries_and_still_needs_a_token(client):
    response = await client.get("/graphql", params={"query": "{ __typename }"})
    assert response.status_code == 401
    assert response.json()["errors"][0]["extensions"]["code"] == "unauthorized"


# --- the landing page, the SDL ----------------------------------------------------------------

LINKS = {
    "graphiql": "/graphql",
    "swaggerUi": "/v1/docs",
    "openapi": "/v1/openapi.json",
    "sdl": "/graphql/schema.graphql",
    "calendar": "/calendar",
}


@pytest.mark.parametrize("accept", [None, "application/json", "*/*"])
async def test_the_landing_page_is_json_for_programs(client, accept):
    headers = {"Accept": accept} if accept else {}
    response = await client.get("/", headers=headers)
    assert response.status_code == 200
    assert response.headers["content-type"] == "application/json"
    assert response.json()["links"] == LINKS


async def test_the_landing_page_links_what_a_browser_can_open(client):
    refs = references((await page(client, "/")).text)
    links = [u for u in refs.urls if not u.startswith("/static/")]
    assert links == list(LINKS.values())
    for link in links:
        assert (await client.get(link, headers=HTML)).status_code == 200, link


async def test_the_sdl_is_served_as_published(client):
    response = await client.get("/graphql/schema.graphql")
    assert response.status_code == 200
    assert response.headers["content-type"].startswith("text/plain")
    assert response.text == sdl()
