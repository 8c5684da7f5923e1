"""Markdown to safe HTML, and the plain text the search index reads.

Articles are CommonMark (with tables and strikethrough) rendered by markdown-it-py. Raw
HTML in an article is allowed through the parser, then *everything* goes through nh3, an
allow-list sanitiser: only the tags and attributes below survive, links keep only
``http:``, ``https:``, ``mailto:`` and relative addresses, and the content of ``script``
and ``style`` elements is dropped. An article can therefore never carry script into the
help centre's pages, whatever is written in it; the Content-Security-Policy of those pages
(no inline script, no inline style) is the second wall.

Headings get ids made from their text (``## Lost both?`` → ``id="lost-both"``) so that a
section can be linked to; ``#`` headings become ``h2``, because the page's ``h1`` is the
article's title.
"""

from __future__ import annotations

import html
import re
import unicodedata
from dataclasses import dataclass

import nh3
from markdown_it import MarkdownIt
from markdown_it.token import Token

ALLOWED_TAGS = frozenset(
    {
        "a", "abbr", "b", "blockquote", "br", "code", "dd", "del", "dl", "dt", "em",
        "h2", "h3", "h4", "hr", "i", "img", "kbd", "li", "ol", "p", "pre", "s", "strong",
        "sub", "sup", "table", "tbody", "td", "th", "thead", "tr", "ul",
    }
)  # fmt: skip
ALLOWED_ATTRIBUTES: dict[str, set[str]] = {
    "a": {"href", "title"},
    "abbr": {"title"},
    "img": {"src", "alt", "title"},
    "ol": {"start"},
    "h2": {"id"},
    "h3": {"id"},
    "h4": {"id"},
}
URL_SCHEMES = frozenset({"http", "https", "mailto"})
# Ids the page around an article uses; a heading never takes one of them.
RESERVED_IDS = frozenset({"main", "q", "help-search", "content", "top"})


@dataclass(frozen=True)
class Rendered:
    """An article's body: sanitised HTML, and its text for searching."""

    html: str
    blocks: tuple[str, ...]
    """The text of each paragraph, list item, heading, table row or code block, in order."""
    headings: tuple[str, ...]
    links: tuple[str, ...]
    """Every link target, as written (for checking that links between articles resolve)."""


def _parser() -> MarkdownIt:
    return MarkdownIt("commonmark", {"html": True}).enable(["table", "strikethrough"])


_MD = _parser()


def slugify(text: str) -> str:
    """``Lost both? Then…`` → ``lost-both-then``: lowercase ASCII letters, digits and dashes."""
    plain = unicodedata.normalize("NFKD", text).encode("ascii", "ignore").decode()
    return re.sub(r"[^a-z0-9]+", "-", plain.lower()).strip("-") or "section"


_DROPPED_OPEN = re.compile(r"<(script|style)\b", re.IGNORECASE)
_DROPPED_CLOSE = re.compile(r"</(script|style)\b", re.IGNORECASE)


def _inline_text(token: Token) -> str:
    parts: list[str] = []
    dropping = False  # inside <script> or <style>, whose content the sanitiser drops
    for child in token.children or ():
        if child.type == "html_inline":
            # A tag: the text it wraps is in the neighbouring text tokens.
            if _DROPPED_OPEN.match(child.content):
                dropping = True
            elif _DROPPED_CLOSE.match(child.content):
                dropping = False
        elif dropping:
            continue
        elif child.type in ("text", "code_inline"):
            parts.append(child.content)
        elif child.type in ("softbreak", "hardbreak"):
            parts.append(" ")
        elif child.type == "image":
            parts.append(child.content)
    return "".join(parts)


def _strip_html(fragment: str) -> str:
    return html.unescape(nh3.clean(fragment, tags=set()))


def _squash(text: str) -> str:
    return re.sub(r"\s+", " ", text).strip()


def render_markdown(markdown: str) -> Rendered:
    tokens = _MD.parse(markdown)
    blocks: list[str] = []
    headings: list[str] = []
    links: list[str] = []
    ids: set[str] = set()
    current: list[str] = []
    depth = 0  # inside a list item or table row, text is gathered into one block

    def flush(separator: str = " ") -> None:
        text = _squash(separator.join(part for part in current if part.strip()))
        if text:
            blocks.append(text)
        current.clear()

    for i, token in enumerate(tokens):
        if token.type == "heading_open":
            if token.tag == "h1":
                token.tag = "h2"
                tokens[i + 2].tag = "h2"  # its heading_close
            title = _squash(_inline_text(tokens[i + 1]))
            headings.append(title)
            base = slugify(title)
            anchor, n = base, 1
            while anchor in ids or anchor in RESERVED_IDS:
                n += 1
                anchor = f"{base}-{n}"
            ids.add(anchor)
            token.attrSet("id", anchor)
        elif token.type in ("list_item_open", "tr_open"):
            if depth == 0:
                flush()
            depth += 1
        elif token.type in ("list_item_close", "tr_close"):
            depth -= 1
            if depth == 0:
                flush(" · " if token.type == "tr_close" else " ")
        elif token.type == "inline":
            current.append(_inline_text(token))
            for child in token.children or ():
                if child.type == "link_open":
                    links.append(str(child.attrGet("href") or ""))
            if depth == 0:
                flush()
        elif token.type in ("fence", "code_block"):
            current.append(token.content)
            if depth == 0:
                flush()
        elif token.type == "html_block":
            current.append(_strip_html(token.content))
            if depth == 0:
                flush()
    flush()

    raw = _MD.renderer.render(tokens, _MD.options, {})

    def keep_attribute(element: str, attribute: str, value: str) -> str | None:
        # Heading ids come from the renderer above, never from HTML written in the article.
        if attribute == "id":
            return value if value in ids else None
        return value

    safe = nh3.clean(
        raw,
        tags=set(ALLOWED_TAGS),
        attributes={k: set(v) for k, v in ALLOWED_ATTRIBUTES.items()},
        attribute_filter=keep_attribute,
        url_schemes=set(URL_SCHEMES),
        link_rel="noopener noreferrer",
        strip_comments=True,
    )
    return Rendered(safe, tuple(blocks), tuple(headings), tuple(links))
