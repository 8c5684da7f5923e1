"""The help centre's HTML pages, rendered on the server from Jinja templates.

Every value is escaped by Jinja's autoescaping; the only markup that goes in unescaped is
an article's body, which :mod:`coffre.help.render` has sanitised, and a search excerpt,
which :func:`highlight` builds from escaped text and ``<mark>`` elements. The pages need
no JavaScript and use no inline style or script (the stylesheet is ``/help/help.css``).
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import jinja2
from markupsafe import Markup, escape

from coffre.help.centre import HelpCentre, Page, Result
from coffre.help.index import Excerpt
from coffre.help.loader import Category

HERE = Path(__file__).resolve().parent
TEMPLATES = HERE / "templates"
STYLESHEET = HERE / "static" / "help.css"
MAX_QUERY = 200


def highlight(excerpt: Excerpt) -> Markup:
    """The excerpt's text, escaped, with each matched word in ``<mark>``."""
    parts: list[str] = []
    position = 0
    for start, end in excerpt.highlights:
        parts.append(escape(excerpt.text[position:start]))
        parts.append(Markup("<mark>%s</mark>") % excerpt.text[start:end])
        position = end
    parts.append(escape(excerpt.text[position:]))
    return Markup("").join(parts)


def _environment() -> jinja2.Environment:
    env = jinja2.Environment(
        loader=jinja2.FileSystemLoader(TEMPLATES),
        autoescape=True,
        undefined=jinja2.StrictUndefined,
        keep_trailing_newline=True,
    )
    env.filters["highlight"] = highlight
    return env


_ENV = _environment()


def _render(template: str, **context: Any) -> str:
    defaults: dict[str, Any] = {
        "query": "",
        "description": "",
        "section": "",
        "max_query": MAX_QUERY,
    }
    return _ENV.get_template(template).render({**defaults, **context})


def home(centre: HelpCentre) -> str:
    return _render(
        "home.html",
        title="Help centre",
        section="home",
        description="Answers about Coffre: accounts, security and recovery, sharing, plans.",
        categories=centre.categories,
    )


def category(centre: HelpCentre, cat: Category) -> str:
    return _render("category.html", title=cat.title, description=cat.summary, category=cat)


def article(centre: HelpCentre, page: Page) -> str:
    return _render(
        "article.html",
        title=page.article.title,
        description=page.article.summary,
        page=page,
        body=Markup(page.body.html),  # noqa: S704 (sanitised by nh3 in coffre.help.render)
    )


def search(centre: HelpCentre, query: str, results: list[Result]) -> str:
    return _render(
        "search.html",
        title=f"Search: {query}" if query else "Search",
        query=query,
        results=results,
    )


def error(title: str, message: str, code: str, query: str = "") -> str:
    return _render("error.html", title=title, message=message, code=code, query=query)
