"""The help centre as the server holds it: the articles, rendered once, and their index."""

from __future__ import annotations

from dataclasses import dataclass
from functools import cache
from pathlib import Path

from coffre.help.index import Document, Excerpt, SearchIndex
from coffre.help.loader import Article, Category, load_articles
from coffre.help.render import Rendered, render_markdown

ARTICLES = Path(__file__).resolve().parent / "articles"


@dataclass(frozen=True)
class Page:
    """An article with its rendered body."""

    article: Article
    category: Category
    body: Rendered


@dataclass(frozen=True)
class Result:
    page: Page
    score: float
    excerpt: Excerpt


class HelpCentre:
    def __init__(self, categories: tuple[Category, ...]) -> None:
        self.categories = categories
        self._categories = {c.slug: c for c in categories}
        self.pages: tuple[Page, ...] = tuple(
            Page(article, category, render_markdown(article.markdown))
            for category in categories
            for article in category.articles
        )
        self._pages = {(p.article.category, p.article.slug): p for p in self.pages}
        self.index = SearchIndex(
            [
                Document(p.article.title, p.article.summary, p.body.headings, p.body.blocks)
                for p in self.pages
            ]
        )

    @classmethod
    def load(cls, folder: Path = ARTICLES) -> HelpCentre:
        return cls(load_articles(folder))

    def category(self, slug: str) -> Category | None:
        return self._categories.get(slug)

    def page(self, category: str, slug: str) -> Page | None:
        return self._pages.get((category, slug))

    def search(self, query: str, limit: int = 10) -> list[Result]:
        return [
            Result(self.pages[hit.document], hit.score, hit.excerpt)
            for hit in self.index.search(query, limit)
        ]

    def broken_links(self) -> list[tuple[str, str]]:
        """``(article path, link)`` for every link to ``/help/...`` that leads nowhere."""
        broken: list[tuple[str, str]] = []
        for page in self.pages:
            for link in page.body.links:
                target = link.split("#", 1)[0].split("?", 1)[0].rstrip("/")
                if not target.startswith("/help"):
                    continue
                parts = target.split("/")[2:]
                ok = (
                    len(parts) == 0
                    or parts == ["search"]
                    or (len(parts) == 1 and parts[0] in self._categories)
                    or (len(parts) == 2 and (parts[0], parts[1]) in self._pages)
                )
                if not ok:
                    broken.append((page.article.path, link))
        return broken


@cache
def default_centre() -> HelpCentre:
    """The articles that ship with the server, loaded on first use."""
    return HelpCentre.load()
