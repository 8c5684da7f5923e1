"""What a customer wrote, as plain text, and what they attached.

The text/plain part is taken when there is one. Otherwise the HTML part is sanitised with
nh3 (scripts, styles, event handlers and every other active content gone) and turned into
text; quoted history is dropped on the way (Gmail's ``gmail_quote`` block, Outlook's
``divRplyFwdMsg`` header, ``<blockquote>``). Then :func:`.quotes.strip_quotes` strips the
text's own quotes. Attachments larger than ``COFFRE_MAIL_ATTACHMENT_MAX_BYTES`` are left
out (and logged).
"""

from __future__ import annotations

import logging
import re
from dataclasses import dataclass, field
from email.message import EmailMessage, MIMEPart
from html.parser import HTMLParser

import nh3

from coffre.server.config import Settings
from coffre.server.mail.quotes import strip_quotes

log = logging.getLogger("coffre.mail")

Attachment = tuple[str, str, bytes]
"""(file name, media type, content)"""

_TAGS = {
    "a", "b", "blockquote", "br", "div", "em", "h1", "h2", "h3", "h4", "h5", "h6", "hr",
    "i", "li", "ol", "p", "pre", "span", "strong", "table", "td", "th", "tr", "u", "ul",
}  # fmt: skip
_ATTRIBUTES = {"div": {"class", "id"}, "blockquote": {"class", "type"}}
_BLOCKS = {
    "blockquote", "br", "div", "h1", "h2", "h3", "h4", "h5", "h6", "hr", "li", "p", "pre",
    "table", "tr",
}  # fmt: skip
_VOID = {"br", "hr"}
_QUOTE_CLASSES = {"gmail_quote", "moz-cite-prefix", "yahoo_quoted"}
_QUOTE_IDS = {"divrplyfwdmsg", "appendonsend"}


def sanitise_html(html: str) -> str:
    """The HTML with only harmless formatting left (nh3, with script and style content
    removed)."""
    return nh3.clean(html, tags=_TAGS, attributes=_ATTRIBUTES, link_rel=None)


class _Text(HTMLParser):
    """Sanitised HTML to text, leaving out quoted history."""

    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.parts: list[str] = []
        self._stack: list[bool] = []  # per open element: does it start a quote?
        self._quoted = 0
        self._cut = False  # Outlook's reply header: everything after it is history

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        if tag in _BLOCKS:
            self.parts.append("\n")
        if tag in _VOID:
            return
        values = dict(attrs)
        classes = set((values.get("class") or "").split())
        ident = (values.get("id") or "").lower()
        if ident in _QUOTE_IDS:
            self._cut = True
        quote = tag == "blockquote" or bool(classes & _QUOTE_CLASSES)
        self._stack.append(quote)
        self._quoted += quote

    def handle_endtag(self, tag: str) -> None:
        if tag in _BLOCKS:
            self.parts.append("\n")
        if tag in _VOID or not self._stack:
            return
        self._quoted -= self._stack.pop()

    def handle_data(self, data: str) -> None:
        if not self._quoted and not self._cut:
            self.parts.append(data)

    def text(self) -> str:
        raw = "".join(self.parts)
        lines = [" ".join(line.split()) for line in raw.split("\n")]
        return re.sub(r"\n{3,}", "\n\n", "\n".join(lines)).strip()


def html_to_text(html: str) -> str:
    parser = _Text()
    parser.feed(sanitise_html(html))
    parser.close()
    return parser.text()


@dataclass(slots=True)
class Body:
    text: str
    attachments: list[Attachment] = field(default_factory=list)
    dropped: list[str] = field(default_factory=list)
    """Names of attachments left out for their size."""


def extract(msg: EmailMessage, settings: Settings) -> Body:
    part = msg.get_body(preferencelist=("plain", "html"))
    text = ""
    if part is not None:
        content = _content(part)
        text = html_to_text(content) if part.get_content_type() == "text/html" else content
    body = Body(strip_quotes(text))
    for attachment in msg.iter_attachments():
        if attachment.is_multipart():
            continue
        name = attachment.get_filename() or "attachment"
        payload = attachment.get_payload(decode=True)
        data = payload if isinstance(payload, bytes) else b""
        if len(data) > settings.mail_attachment_max_bytes:
            log.info("attachment %r (%d bytes) left out: too large", name, len(data))
            body.dropped.append(name)
            continue
        body.attachments.append((name, attachment.get_content_type(), data))
    return body


def _content(part: MIMEPart) -> str:
    try:
        content = part.get_content()
    except (LookupError, UnicodeError):  # an unknown or lying charset
        payload = part.get_payload(decode=True)
        content = payload.decode("utf-8", "replace") if isinstance(payload, bytes) else ""
    return content if isinstance(content, str) else ""
