"""The help centre's wire model: the answer of ``GET /v1/help/search``."""

from __future__ import annotations

from pydantic import Field

from coffre.protocol.models import Model


class HelpResult(Model):
    title: str
    url: str = Field(description="the article's path, e.g. /help/sharing/public-links")
    category: str = Field(description="the category's slug")
    category_title: str
    summary: str
    excerpt: str = Field(description="plain text: the passage that matched best")
    highlights: list[tuple[int, int]] = Field(
        description="[start, end) character offsets into excerpt of the matched words"
    )
    score: float = Field(description="BM25 relevance; results come best first")


class HelpSearch(Model):
    query: str
    results: list[HelpResult]
