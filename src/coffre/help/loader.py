"""Reading the help centre's articles: Markdown files with a small front matter.

The articles live in a folder with one sub-folder per category::

    articles/
      getting-started/
        _category.md          the category: front matter only (title, summary, order)
        create-an-account.md  an article: front matter, then Markdown
      ...

Front matter is the first lines of the file, between two lines of ``---``, one
``key: value`` a line (no YAML: values are plain text, to the end of the line)::

    ---
    title: Create an account
    summary: Sign up with the command line or in the browser, and keep your recovery key.
    order: 10
    ---

``title`` and ``summary`` are required, ``order`` (an integer; lower comes first, then by
title) is optional; any other key is an error, so that a typing mistake does not go unseen.
Folder and file names are the slugs in the address (``/help/CATEGORY/SLUG``): lowercase
letters, digits and dashes. Anything wrong stops the load with :class:`ArticleError`
naming the file: the articles ship with the server, so a bad one is a bug to fix before
release (the tests load them all).
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from pathlib import Path

CATEGORY_FILE = "_category.md"
SLUG = re.compile(r"^[a-z0-9]+(?:-[a-z0-9]+)*$")
_KEYS = frozenset({"title", "summary", "order"})
_MAX_TITLE = 120
_MAX_SUMMARY = 300


class ArticleError(ValueError):
    """An article or category file that cannot be used; the message names the file."""


@dataclass(frozen=True)
class FrontMatter:
    title: str
    summary: str
    order: int


@dataclass(frozen=True)
class Article:
    category: str
    slug: str
    title: str
    summary: str
    order: int
    markdown: str

    @property
    def path(self) -> str:
        return f"/help/{self.category}/{self.slug}"


@dataclass(frozen=True)
class Category:
    slug: str
    title: str
    summary: str
    order: int
    articles: tuple[Article, ...] = field(default=())

    @property
    def path(self) -> str:
        return f"/help/{self.slug}"


def split_front_matter(text: str, where: str) -> tuple[FrontMatter, str]:
    """``(front matter, Markdown body)`` of a file's text."""
    lines = text.lstrip("\ufeff").splitlines()
    if not lines or lines[0].strip() != "---":
        raise ArticleError(f"{where}: must start with a front matter block ('---')")
    try:
        end = next(i for i, line in enumerate(lines[1:], 1) if line.strip() == "---")
    except StopIteration:
        raise ArticleError(f"{where}: the front matter block is not closed ('---')") from None
    values: dict[str, str] = {}
    for number, line in enumerate(lines[1:end], 2):
        if not line.strip() or line.lstrip().startswith("#"):
            continue
        key, sep, value = line.partition(":")
        key = key.strip()
        if not sep or key not in _KEYS:
            raise ArticleError(f"{where}:{number}: expected one of {sorted(_KEYS)} as 'key: value'")
        if key in values:
            raise ArticleError(f"{where}:{number}: '{key}' is given twice")
        values[key] = value.strip()
    for key in ("title", "summary"):
        if not values.get(key):
            raise ArticleError(f"{where}: '{key}' is missing from the front matter")
    if len(values["title"]) > _MAX_TITLE or len(values["summary"]) > _MAX_SUMMARY:
        raise ArticleError(f"{where}: the title or summary is too long")
    order_text = values.get("order", "100")
    if not re.fullmatch(r"-?\d{1,6}", order_text):
        raise ArticleError(f"{where}: 'order' must be an integer")
    body = "\n".join(lines[end + 1 :]).strip("\n") + "\n"
    return FrontMatter(values["title"], values["summary"], int(order_text)), body


def _read(path: Path) -> str:
    try:
        return path.read_text(encoding="utf-8")
    except UnicodeDecodeError:
        raise ArticleError(f"{path}: not UTF-8") from None


def load_articles(folder: Path) -> tuple[Category, ...]:
    """Every category of ``folder`` with its articles, both in their order."""
    if not folder.is_dir():
        raise ArticleError(f"{folder}: no such folder of articles")
    categories: list[Category] = []
    for sub in sorted(p for p in folder.iterdir() if p.is_dir() and not p.name.startswith(".")):
        if sub.name == "__pycache__":
            continue
        if not SLUG.match(sub.name):
            raise ArticleError(f"{sub}: a category folder's name must be a slug (a-z, 0-9, -)")
        meta_file = sub / CATEGORY_FILE
        if not meta_file.is_file():
            raise ArticleError(f"{sub}: no {CATEGORY_FILE} (the category's title and summary)")
        meta, _ = split_front_matter(_read(meta_file), str(meta_file))
        articles: list[Article] = []
        for path in sorted(sub.glob("*.md")):
            if path.name == CATEGORY_FILE:
                continue
            if not SLUG.match(path.stem):
                raise ArticleError(f"{path}: an article's file name must be a slug (a-z, 0-9, -)")
            front, body = split_front_matter(_read(path), str(path))
            if not body.strip():
                raise ArticleError(f"{path}: the article has no text")
            articles.append(
                Article(sub.name, path.stem, front.title, front.summary, front.order, body)
            )
        if not articles:
            raise ArticleError(f"{sub}: the category has no articles")
        articles.sort(key=lambda a: (a.order, a.title.casefold()))
        categories.append(Category(sub.name, meta.title, meta.summary, meta.order, tuple(articles)))
    if not categories:
        raise ArticleError(f"{folder}: no categories")
    categories.sort(key=lambda c: (c.order, c.title.casefold()))
    return tuple(categories)
