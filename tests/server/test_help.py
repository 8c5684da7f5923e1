"""The help centre: every article renders and links resolve, search finds and ranks,
sanitising strips script from Markdown, pages carry the web client's security headers,
unknown articles are a 404 with a stable code, and the articles ship in the package."""

from __future__ import annotations

import fnmatch
import tomllib
from collections.abc import Callable, Iterator
from html.parser import HTMLParser
from pathlib import Path

import httpx
import pytest
from fastapi import FastAPI
from hypothesis import given, settings
from hypothesis import strategies as st

from coffre.client.api import Api
from coffre.help.centre import ARTICLES, HelpCentre
from coffre.help.index import Document, SearchIndex, normalise
from coffre.help.loader import ArticleError, load_articles
from coffre.help.pages import search as search_page
from coffre.web import SECURITY_HEADERS
from tests.server.raw import assert_error

ROOT = Path(__file__).resolve().parents[2]
CENTRE = HelpCentre.load()
CATEGORIES = (
    "getting-started",
    "security-and-recovery",
    "sharing",
    "plans-and-billing",
    "troubleshooting",
)


class Tags(HTMLParser):
    """Every start tag of a page with its attributes, and the page's text."""

    def __init__(self) -> None:
        super().__init__()
        self.tags: list[tuple[str, dict[str, str]]] = []
        self.text: list[str] = []

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        self.tags.append((tag, {k: v or "" for k, v in attrs}))

    def handle_data(self, data: str) -> None:
        self.text.append(data)

    def hrefs(self) -> list[str]:
        return [a["href"] for tag, a in self.tags if tag == "a" and "href" in a]


def parse(page: str) -> Tags:
    parser = Tags()
    parser.feed(page)
    parser.close()
    return parser


@pytest.fixture
def http(make_api: Callable[..., Api]) -> httpx.Client:
    return make_api().http


def write_article(folder: Path, category: str, slug: str, body: str, title: str = "") -> None:
    where = folder / category
    where.mkdir(parents=True, exist_ok=True)
    if not (where / "_category.md").exists():
        (where / "_category.md").write_text(
            f"---\ntitle: {category.title()}\nsummary: About {category}.\n---\n", encoding="utf-8"
        )
    (where / f"{slug}.md").write_text(
        f"---\ntitle: {title or slug.title()}\nsummary: The {slug} article.\n---\n{body}",
        encoding="utf-8",
    )


class OwnArticles:
    """Articles in a temporary folder, served by the app instead of the shipped ones."""

    def __init__(self, app: FastAPI, folder: Path) -> None:
        self.app = app
        self.folder = folder

    def load(self) -> HelpCentre:
        centre = HelpCentre.load(self.folder)
        self.app.state.help_centre = centre
        return centre


@pytest.fixture
def own_articles(app: FastAPI, tmp_path: Path) -> Iterator[OwnArticles]:
    yield OwnArticles(app, tmp_path / "articles")
    if hasattr(app.state, "help_centre"):
        del app.state.help_centre


# -- the shipped articles ------------------------------------------------------------------


def test_the_articles_cover_every_category() -> None:
    assert tuple(c.slug for c in CENTRE.categories) == CATEGORIES
    assert len(CENTRE.pages) >= 12
    for category in CENTRE.categories:
        assert len(category.articles) >= 2, category.slug
    for page in CENTRE.pages:
        assert len(page.article.markdown.split()) > 150, f"{page.article.path} is too thin"


def test_every_article_renders(http: httpx.Client) -> None:
    home = http.get("/help")
    assert home.status_code == 200
    assert home.headers["content-type"].startswith("text/html")
    home_links = parse(home.text).hrefs()
    for category in CENTRE.categories:
        assert category.path in home_links
        listing = http.get(category.path)
        assert listing.status_code == 200
        assert f"<h1>{category.title}</h1>" in listing.text
        for article in category.articles:
            assert article.path in home_links
            assert article.path in parse(listing.text).hrefs()
            response = http.get(article.path)
            assert response.status_code == 200, article.path
            page = parse(response.text)
            assert page.text.count(article.title) >= 1
            assert sum(1 for tag, _ in page.tags if tag == "h1") == 1
            # Landmarks, the skip link, the search form's label, the way out.
            names = [tag for tag, _ in page.tags]
            for landmark in ("header", "nav", "main", "footer"):
                assert landmark in names, (article.path, landmark)
            assert ("a", {"class": "skip-link", "href": "#main"}) in page.tags
            assert ("label", {"for": "q"}) in page.tags
            assert "/support" in page.hrefs()
            assert "/files" in page.hrefs()
            assert response.text.count("<script") == 0
            assert " style=" not in response.text


def test_links_between_articles_resolve(http: httpx.Client) -> None:
    assert CENTRE.broken_links() == []
    seen: set[str] = set()
    for page in CENTRE.pages:
        for link in page.body.links:
            if link.startswith("/help") and link not in seen:
                seen.add(link)
                assert http.get(link).status_code == 200, (page.article.path, link)
    # Every article is linked from another one: none is reachable only from the index.
    assert {p.article.path for p in CENTRE.pages} <= {link.split("#")[0] for link in seen}


def test_a_broken_link_is_found(own_articles: OwnArticles) -> None:
    folder = own_articles.folder
    write_article(folder, "one", "a", "See [b](/help/one/b) and [gone](/help/one/gone#x).\n")
    write_article(folder, "one", "b", "Back to [a](/help/one/a), [all](/help), [one](/help/one).\n")
    assert own_articles.load().broken_links() == [("/help/one/a", "/help/one/gone#x")]


def test_the_brief_facts_are_stated_plainly() -> None:
    """The answers people most need are where they will look for them."""
    recovery = CENTRE.page("security-and-recovery", "recovery-key")
    assert recovery is not None
    assert "Your files are gone." in recovery.body.html
    plans = CENTRE.page("plans-and-billing", "plans")
    assert plans is not None
    assert "no paid plans" in plans.body.html and "20 GiB" in plans.body.html
    errors = CENTRE.page("troubleshooting", "error-messages")
    assert errors is not None
    for code in ("| 2 |", "| 3 |", "| 4 |", "| 5 |", "| 6 |", "| 7 |", "| 8 |", "| 9 |"):
        assert code in errors.article.markdown


# -- search ----------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("query", "expected"),
    [
        ("forgot my password", "recovery-key"),
        ("lost password", "recovery-key"),
        ("recovery key", "recovery-key"),
        ("how do I share a folder with a friend", "shared-folders"),
        ("fingerprint", "contacts-and-fingerprints"),
        ("KEYS CHANGED", "contacts-and-fingerprints"),
        ("integrity check failed", "integrity-errors"),
        ("tampered", "integrity-errors"),
        ("exit codes", "error-messages"),
        ("password link", "public-links"),
        ("file request", "upload-only-links"),
        ("2fa", "two-factor-authentication"),
        ("support code phone", "talking-to-support"),
        ("copyright", "report-abuse"),
        ("paid plans", "plans"),
        ("transfer quota", "storage-and-transfer-quotas"),
        ("empty the rubbish bin", "rubbish-bin-and-versions"),
        ("revoke a session", "password-and-sessions"),
        ("too many failed attempts", "cannot-log-in"),
        ("recov", "recovery-key"),  # a prefix
        ("Récupération Recovery", "recovery-key"),  # accents and case folded
    ],
)
def test_search_finds_the_expected_article(query: str, expected: str) -> None:
    results = CENTRE.search(query, 3)
    assert results, query
    assert results[0].page.article.slug == expected, [r.page.article.slug for r in results]


@pytest.mark.parametrize(
    ("query", "expected"),
    [
        ("link expired", "link-problems"),
        ("link does not open", "link-problems"),
        ("lost phone", "two-factor-authentication"),
        ("delete for good", "rubbish-bin-and-versions"),
    ],
)
def test_search_ranks_the_article_near_the_top(query: str, expected: str) -> None:
    assert expected in [r.page.article.slug for r in CENTRE.search(query, 2)]


def test_search_ranks_sensibly() -> None:
    index = SearchIndex(
        [
            Document("Sharing", "About sharing.", (), ("Folders can be shared.",)),
            Document("Quota", "Space.", (), ("A quota, a quota, a quota and a folder.",)),
            Document("Quota and folders", "Both.", (), ("Each folder counts against the quota.",)),
            Document("Nothing", "Unrelated.", (), ("Bananas.",)),
        ]
    )
    # An article with both words ranks above those with one; a title match above a body one.
    assert index.search("quota folder")[0].document == 2
    assert [hit.document for hit in index.search("sharing")] == [0]
    # Saturated, length-normalised counts: more mentions in a short text rank higher.
    assert [hit.document for hit in index.search("quota")][:2] == [1, 2]
    assert [hit.document for hit in index.search("the bananas")] == [3]  # "the" is dropped
    assert index.search("bananas")[0].document == 3
    assert index.search("zzz") == []
    assert index.search("") == []
    scores = [hit.score for hit in index.search("quota folder")]
    assert scores == sorted(scores, reverse=True)


def test_words_are_folded_and_stemmed() -> None:
    assert normalise("Links") == normalise("link") == normalise("linked")
    assert normalise("sharing") == normalise("shared") == normalise("shares")
    assert normalise("Café") == "cafe"
    assert normalise("copies") == normalise("copied") == "copy"
    assert normalise("access") == "access" and normalise("status") == "status"


def test_excerpts_mark_the_words_that_matched() -> None:
    result = CENTRE.search("recovery key lost both", 1)[0]
    excerpt = result.excerpt
    marked = [excerpt.text[s:e].lower() for s, e in excerpt.highlights]
    assert {"recovery", "key", "lost", "both"} <= set(marked)
    long = SearchIndex([Document("T", "S", (), (" ".join(["filler"] * 80 + ["needle"] * 2),))])
    cut = long.search("needle")[0].excerpt
    assert cut.text.startswith("… ") and len(cut.text.split()) <= 32
    assert [cut.text[s:e] for s, e in cut.highlights] == ["needle", "needle"]


PAGE_TAGS = frozenset(
    {
        "html", "head", "meta", "title", "link", "body", "a", "header", "div", "nav", "ul",
        "li", "form", "label", "input", "button", "main", "h1", "h2", "p", "ol", "mark",
        "footer", "span",
    }
)  # fmt: skip


@settings(max_examples=300, deadline=None)
@given(query=st.text(max_size=200))
def test_any_query_gives_sound_results(query: str) -> None:
    results = CENTRE.search(query)
    scores = [r.score for r in results]
    assert scores == sorted(scores, reverse=True)
    for result in results:
        text = result.excerpt.text
        assert text
        previous = 0
        for start, end in result.excerpt.highlights:
            assert previous <= start < end <= len(text)
            previous = end
    # Whatever the query, the page is made of the template's own elements only.
    tags = {tag for tag, _ in parse(search_page(CENTRE, query, results)).tags}
    assert tags <= PAGE_TAGS, tags - PAGE_TAGS


def test_search_page_lists_results_with_highlights(http: httpx.Client) -> None:
    response = http.get("/help/search", params={"q": "recovery key"})
    assert response.status_code == 200
    page = parse(response.text)
    hrefs = page.hrefs()
    assert hrefs.index("/help/security-and-recovery/recovery-key") < hrefs.index(
        "/help/getting-started/create-an-account"
    )
    assert "<mark>recovery</mark>" in response.text.lower()
    assert 'value="recovery key"' in response.text
    empty = http.get("/help/search")
    assert empty.status_code == 200 and "Search the help centre" in empty.text
    nothing = http.get("/help/search", params={"q": "xylophone"})
    assert nothing.status_code == 200 and "No articles found" in nothing.text


def test_search_page_escapes_the_query(http: httpx.Client) -> None:
    attack = '"><script>alert(1)</script><img src=x onerror=alert(2)> recovery'
    response = http.get("/help/search", params={"q": attack})
    assert response.status_code == 200
    assert "<script" not in response.text and "<img" not in response.text
    assert "&lt;script&gt;" in response.text
    page = parse(response.text)
    assert not [a for _, attrs in page.tags for a in attrs if a.startswith("on")]


def test_search_page_refuses_a_very_long_query(http: httpx.Client) -> None:
    response = http.get("/help/search", params={"q": "a" * 201})
    assert response.status_code == 400
    assert "invalid_request" in response.text
    assert (
        response.headers["content-security-policy"] == SECURITY_HEADERS["content-security-policy"]
    )


def test_json_search(http: httpx.Client) -> None:
    response = http.get("/v1/help/search", params={"q": "share a folder", "limit": 3})
    assert response.status_code == 200
    body = response.json()
    assert body["query"] == "share a folder"
    assert 1 <= len(body["results"]) <= 3
    first = body["results"][0]
    assert set(first) == {
        "title",
        "url",
        "category",
        "category_title",
        "summary",
        "excerpt",
        "highlights",
        "score",
    }
    assert first["url"] == "/help/sharing/shared-folders"
    assert first["category"] == "sharing"
    for start, end in first["highlights"]:
        assert normalise(first["excerpt"][start:end]) in {normalise("share"), "folder"}
    scores = [r["score"] for r in body["results"]]
    assert scores == sorted(scores, reverse=True)
    assert http.get("/v1/help/search", params={"q": "xylophone"}).json()["results"] == []


@pytest.mark.parametrize(
    "params",
    [{}, {"q": ""}, {"q": "x" * 201}, {"q": "quota", "limit": "0"}, {"q": "quota", "limit": "x"}],
)
def test_json_search_refuses_bad_input(http: httpx.Client, params: dict[str, str]) -> None:
    assert_error(http.get("/v1/help/search", params=params), 400, "invalid_request")


# -- sanitising ------------------------------------------------------------------------------

HOSTILE = """\
Hello <script>alert("script")</script> there.

<img src="x" onerror="alert('img')"> <svg onload="alert('svg')"><circle/></svg>

[click me](javascript:alert('md')) and <a href="javascript:alert('a')">raw link</a>
<a href="JaVaScRiPt:alert('case')">case</a> <a href=" javascript:alert('space')">space</a>
[data](data:text/html;base64,PHNjcmlwdD5hbGVydCgxKTwvc2NyaXB0Pg==)

<iframe src="https://example.org"></iframe><object data="x"></object>
<style>body { display: none }</style><p style="color: red" onclick="alert('p')">styled</p>
<form action="https://example.org"><input name="password"></form>
<h2 id="main">hijack the skip link</h2>

## A fine heading

A [fine link](https://example.org/ok) and [another article](/help/one/other).
"""


def test_script_in_markdown_is_stripped(http: httpx.Client, own_articles: OwnArticles) -> None:
    folder = own_articles.folder
    write_article(folder, "one", "hostile", HOSTILE, title="Hostile <b>title</b>")
    write_article(folder, "one", "other", "Nothing to see.\n")
    own_articles.load()
    response = http.get("/help/one/hostile")
    assert response.status_code == 200
    body = response.text.split('<div class="article-body">', 1)[1].split("</article>", 1)[0]
    page = parse(body)
    names = {tag for tag, _ in page.tags}
    assert not names & {"script", "iframe", "object", "style", "svg", "form", "input", "embed"}
    for tag, attrs in page.tags:
        for name, value in attrs.items():
            assert not name.startswith("on"), (tag, name)
            assert name != "style", tag
            if name in ("href", "src"):
                assert not value.strip().lower().startswith(("javascript:", "data:")), value
    assert "alert(&#34;script&#34;)" not in response.text and 'alert("script")' not in response.text
    assert "display: none" not in response.text
    # The title is text, escaped; ids are the renderer's own; good links survive.
    assert "Hostile &lt;b&gt;title&lt;/b&gt;" in response.text
    assert not [a for _, a in page.tags if a.get("id") == "main"]
    assert response.text.count('id="main"') == 1  # the page's own, for the skip link
    assert ("h2", {"id": "a-fine-heading"}) in page.tags
    hrefs = page.hrefs()
    assert "https://example.org/ok" in hrefs and "/help/one/other" in hrefs
    # Search over it shows escaped text only.
    found = http.get("/help/search", params={"q": "hijack skip link"})
    assert "/help/one/hostile" in parse(found.text).hrefs()
    assert "<script" not in found.text and "onerror" not in found.text


# -- headers and errors ----------------------------------------------------------------------


@pytest.mark.parametrize(
    ("path", "status"),
    [
        ("/help", 200),
        ("/help/sharing", 200),
        ("/help/sharing/public-links", 200),
        ("/help/search?q=link", 200),
        ("/help/help.css", 200),
        ("/help/sharing/no-such-article", 404),
        ("/help/no-such-topic", 404),
    ],
)
def test_pages_carry_the_security_headers(http: httpx.Client, path: str, status: int) -> None:
    response = http.get(path)
    assert response.status_code == status
    for name, value in SECURITY_HEADERS.items():
        assert response.headers[name] == value, name
    assert "unsafe-inline" not in response.headers["content-security-policy"]


def test_a_trailing_slash_leads_home(http: httpx.Client) -> None:
    response = http.get("/help/")
    assert response.status_code == 308
    assert response.headers["location"] == "/help"


def test_the_stylesheet_is_served(http: httpx.Client) -> None:
    response = http.get("/help/help.css")
    assert response.headers["content-type"].startswith("text/css")
    assert ".help-main" in response.text


@pytest.mark.parametrize(
    ("path", "code"),
    [
        ("/help/sharing/no-such-article", "article_not_found"),
        ("/help/no-such-topic/public-links", "article_not_found"),
        ("/help/no-such-topic", "category_not_found"),
        ("/help/SHARING", "category_not_found"),
    ],
)
def test_unknown_article_is_a_404_with_a_stable_code(
    http: httpx.Client, path: str, code: str
) -> None:
    response = http.get(path)
    assert response.status_code == 404
    assert response.headers["content-type"].startswith("text/html")
    assert f'<code class="error-code">{code}</code>' in response.text
    assert "/help" in parse(response.text).hrefs()


# -- loading ---------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("text", "error"),
    [
        ("no front matter\n", "must start with a front matter"),
        ("---\ntitle: T\nsummary: S\n", "not closed"),
        ("---\ntitle: T\n---\nBody\n", "'summary' is missing"),
        ("---\ntitle: T\nsummary: S\ncolour: red\n---\nBody\n", "expected one of"),
        ("---\ntitle: T\ntitle: U\nsummary: S\n---\nBody\n", "given twice"),
        ("---\ntitle: T\nsummary: S\norder: first\n---\nBody\n", "must be an integer"),
        ("---\ntitle: T\nsummary: S\n---\n\n", "has no text"),
    ],
)
def test_bad_articles_are_refused(tmp_path: Path, text: str, error: str) -> None:
    write_article(tmp_path, "one", "fine", "Fine.\n")
    (tmp_path / "one" / "bad.md").write_text(text, encoding="utf-8")
    with pytest.raises(ArticleError, match=error):
        load_articles(tmp_path)


def test_bad_names_are_refused(tmp_path: Path) -> None:
    write_article(tmp_path, "one", "Not_A_Slug", "Body.\n")
    with pytest.raises(ArticleError, match="must be a slug"):
        load_articles(tmp_path)


def test_articles_are_ordered(tmp_path: Path) -> None:
    write_article(tmp_path, "one", "zebra", "Z.\n")
    write_article(tmp_path, "one", "apple", "A.\n")
    (tmp_path / "one" / "last.md").write_text(
        "---\ntitle: Last\nsummary: S\norder: 999\n---\nL.\n", encoding="utf-8"
    )
    (tmp_path / "one" / "first.md").write_text(
        "---\ntitle: First\nsummary: S\norder: 1\n---\nF.\n", encoding="utf-8"
    )
    (category,) = load_articles(tmp_path)
    assert [a.slug for a in category.articles] == ["first", "apple", "zebra", "last"]


def test_the_articles_ship_in_the_package() -> None:
    """Every file of the help centre matches the package-data globs of pyproject.toml."""
    config = tomllib.loads((ROOT / "pyproject.toml").read_text(encoding="utf-8"))
    globs = config["tool"]["setuptools"]["package-data"]["coffre"]
    package = ARTICLES.parent.parent
    files = [
        p.relative_to(package).as_posix()
        for p in ARTICLES.parent.rglob("*")
        if p.is_file() and p.suffix != ".py" and "__pycache__" not in p.parts
    ]
    assert any(f.endswith(".md") for f in files)
    assert any(f.endswith(".html") for f in files)
    assert any(f.endswith(".css") for f in files)
    missing = [f for f in files if not any(fnmatch.fnmatch(f, g) for g in globs)]
    assert missing == []
