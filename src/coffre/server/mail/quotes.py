"""Quoted history in replies: what mail clients put under (or around) the new text.

:func:`strip_quotes` keeps what the customer wrote: it drops lines that start with ``>``
and cuts the message where a client's quote header begins: Apple Mail's and Gmail's
"On <date>, <name> wrote:" (one line or two), Outlook's "-----Original Message-----" and
its "From: ... / Sent: ..." block, and a signature after "-- ". A message that would be
left empty keeps its text.
"""

from __future__ import annotations

import re

_ORIGINAL = re.compile(
    r"^\s*-{3,}\s*(original message|ursprüngliche nachricht|message d'origine|"
    r"mensaje original|messaggio originale)\s*-{3,}\s*$",
    re.IGNORECASE,
)
_WROTE = re.compile(
    r"^\s*(on\b.*\bwrote|le\b.*\ba écrit|am\b.*\bschrieb|el\b.*\bescribió)\s*:\s*$",
    re.IGNORECASE,
)
_OPENS_WROTE = re.compile(r"^\s*(on|le|am|el)\s\S", re.IGNORECASE)
_HEADER = re.compile(r"^\s*\**(from|de|von|van)\s*:\**\s*\S", re.IGNORECASE)
_SENT = re.compile(r"^\s*\**(sent|date|envoyé|gesendet|enviado)\s*:\**\s*\S", re.IGNORECASE)
_RULE = re.compile(r"^\s*_{20,}\s*$")
_SIGNATURE = "-- "


def _cut_at(lines: list[str]) -> int:
    """Index of the first line of quoted history, or len(lines)."""
    for i, line in enumerate(lines):
        if _ORIGINAL.match(line) or _WROTE.match(line) or line == _SIGNATURE:
            return i
        following = lines[i + 1 : i + 2]
        # "On Mon, 23 Nov 2026 at 10:00, Coffre Support <" / "support@example.org> wrote:"
        if _OPENS_WROTE.match(line) and following and _WROTE.match(f"{line} {following[0]}"):
            return i
        # Outlook: "From: ..." then, within a few lines, "Sent: ..." (or "Date: ...").
        if _HEADER.match(line) and any(_SENT.match(x) for x in lines[i + 1 : i + 4]):
            start = i - 1 if i > 0 and _RULE.match(lines[i - 1]) else i
            return start
    return len(lines)


def strip_quotes(text: str) -> str:
    lines = text.replace("\r\n", "\n").replace("\r", "\n").split("\n")
    kept = [line for line in lines[: _cut_at(lines)] if not line.lstrip().startswith(">")]
    result = "\n".join(line.rstrip() for line in kept).strip()
    return result or text.strip()
