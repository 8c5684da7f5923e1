"""Full-text search over the help articles: a small in-memory inverted index, ranked by BM25.

The index is built once from the articles (they ship with the server and do not change
while it runs) and answers a query in microseconds; nothing is stored.

- **Words.** Text is split on anything that is not a letter or a digit, folded to lowercase
  ASCII where it can be (``Café`` → ``cafe``) and trimmed by a light English stemmer
  (``links``, ``linked`` → ``link``; ``sharing``, ``shared``, ``shares`` → ``shar``), so that
  a question finds an article written with other forms of its words. A short list of very
  common words is left out of queries.
- **Fields.** A word counts 4 times in a title, twice in a summary or a heading, once in
  the body (BM25F, simplified: the weighted counts go into one BM25 term frequency).
- **Ranking.** BM25 (k1 = 1.2, b = 0.75) summed over the query's words, times a share of
  how many of the words the article has (an article with all of them ranks above one that
  repeats only one), times a bonus for each pair of the query's words that the article has
  next to each other (``keys changed`` ranks the article that says "KEYS CHANGED" above one
  that says "keys" here and "change" there), and times a bonus for the share of the
  query's words in the title (BM25 saturates: a long article that says "link" fifty times
  should not bury the one titled "Links that do not open"). A word that is in no article
  is tried as a prefix (``recov`` → ``recovery``, ``recover``), at half weight.
- **Excerpts.** For each hit, the passage of its body (a paragraph, list item or table
  row, cut to about 30 words) with the most of the query's words, and the character
  ranges of the words that matched: callers escape the text and mark the ranges
  themselves, so an excerpt can never carry markup.
"""

from __future__ import annotations

import bisect
import functools
import itertools
import math
import re
import unicodedata
from collections.abc import Sequence
from dataclasses import dataclass

K1 = 1.2
B = 0.75
FIELD_WEIGHTS = {"title": 4.0, "summary": 2.0, "headings": 2.0, "body": 1.0}
PREFIX_WEIGHT = 0.5
PHRASE_BONUS = 0.5
TITLE_BONUS = 0.5
MAX_PREFIX_TERMS = 20
EXCERPT_WORDS = 30
MAX_QUERY_TERMS = 16

STOP_WORDS = frozenset(
    {
        "a", "about", "an", "and", "are", "as", "at", "be", "by", "can", "do", "does", "for",
        "from", "had", "has", "have", "how", "i", "if", "in", "into", "is", "it", "its", "me",
        "my", "not", "of", "on", "or", "so", "that", "the", "their", "them", "then", "there",
        "these", "they", "this", "to", "was", "we", "what", "when", "where", "which", "who", "why",
        "will", "with", "you", "your",
    }
)  # fmt: skip

_WORD = re.compile(r"[^\W_]+")
_CLAUSE = re.compile(r"[.,;:!?()\[\]{}|]+(?:\s|$)")  # words either side are not a phrase


def stem(word: str) -> str:
    """A light English stemmer: enough to match plurals and -ed/-ing forms with each other."""
    if len(word) <= 3 or word.isdigit():
        return word
    for suffix, replacement in (("ies", "y"), ("ied", "y"), ("sses", "ss")):
        if word.endswith(suffix) and len(word) > len(suffix) + 1:
            return word[: -len(suffix)] + replacement
    if word.endswith("s") and not word.endswith(("ss", "us", "is")):
        word = word[:-1]
    for suffix in ("ing", "ed"):
        if word.endswith(suffix) and len(word) - len(suffix) >= 4:
            word = word[: -len(suffix)]
            break
    if word.endswith("e") and len(word) > 4:
        word = word[:-1]
    return word


@functools.lru_cache(maxsize=1 << 16)
def normalise(word: str) -> str:
    folded = unicodedata.normalize("NFKD", word.casefold())
    ascii_only = "".join(c for c in folded if not unicodedata.combining(c))
    return stem(ascii_only)


def words(text: str) -> list[str]:
    """The normalised words of ``text``, in order."""
    return [normalise(m.group()) for m in _WORD.finditer(text)]


@dataclass(frozen=True)
class Document:
    title: str
    summary: str
    headings: tuple[str, ...]
    blocks: tuple[str, ...]


@dataclass(frozen=True)
class Excerpt:
    text: str
    highlights: tuple[tuple[int, int], ...]
    """``(start, end)`` character offsets into ``text`` of the words that matched."""


@dataclass(frozen=True)
class Hit:
    document: int
    score: float
    excerpt: Excerpt


class SearchIndex:
    """BM25 over a fixed list of documents; :meth:`search` returns positions in that list."""

    def __init__(self, documents: Sequence[Document]) -> None:
        self.documents = tuple(documents)
        self._postings: dict[str, dict[int, float]] = {}
        self._lengths: list[float] = []
        self._passages: list[list[tuple[str, list[Span]]]] = [
            [(text, spans(text)) for text in (*doc.blocks, doc.summary)] for doc in self.documents
        ]
        self._titles = [frozenset(words(doc.title)) for doc in self.documents]
        self._pairs: list[frozenset[tuple[str, str]]] = [
            frozenset(
                pair
                for text in (doc.title, *doc.headings, *doc.blocks, doc.summary)
                for clause in _CLAUSE.split(text)
                for pair in _pairs(words(clause))
            )
            for doc in self.documents
        ]
        for number, doc in enumerate(self.documents):
            fields = {
                "title": [doc.title],
                "summary": [doc.summary],
                "headings": doc.headings,
                "body": doc.blocks,
            }
            length = 0.0
            for name, texts in fields.items():
                weight = FIELD_WEIGHTS[name]
                for text in texts:
                    for term in words(text):
                        per_doc = self._postings.setdefault(term, {})
                        per_doc[number] = per_doc.get(number, 0.0) + weight
                        length += weight
            self._lengths.append(length)
        self._average = sum(self._lengths) / len(self._lengths) if self._lengths else 1.0
        self._vocabulary = sorted(self._postings)

    def __len__(self) -> int:
        return len(self.documents)

    def _idf(self, term: str) -> float:
        df = len(self._postings[term])
        n = len(self.documents)
        return math.log(1.0 + (n - df + 0.5) / (df + 0.5))

    def _expand(self, term: str) -> list[tuple[str, float]]:
        """The index's terms for one query word: itself, or words it begins."""
        if term in self._postings:
            return [(term, 1.0)]
        if len(term) < 3:
            return []
        start = bisect.bisect_left(self._vocabulary, term)
        found: list[tuple[str, float]] = []
        for candidate in self._vocabulary[start : start + MAX_PREFIX_TERMS]:
            if not candidate.startswith(term):
                break
            found.append((candidate, PREFIX_WEIGHT))
        return found

    @staticmethod
    def query_terms(query: str) -> list[str]:
        """The distinct words of a query that are searched for, in order."""
        terms = list(dict.fromkeys(words(query)))[:MAX_QUERY_TERMS]
        meaningful = [t for t in terms if t not in STOP_WORDS]
        return meaningful or terms

    def search(self, query: str, limit: int = 10) -> list[Hit]:
        terms = self.query_terms(query)
        if not terms:
            return []
        scores: dict[int, float] = {}
        matched: dict[int, set[int]] = {}
        wanted: set[str] = set()
        for position, term in enumerate(terms):
            for index_term, weight in self._expand(term):
                wanted.add(index_term)
                idf = self._idf(index_term)
                for doc, tf in self._postings[index_term].items():
                    norm = K1 * (1.0 - B + B * self._lengths[doc] / self._average)
                    scores[doc] = scores.get(doc, 0.0) + weight * idf * tf * (K1 + 1) / (tf + norm)
                    matched.setdefault(doc, set()).add(position)
        pairs = _pairs(terms)

        def boost(doc: int) -> float:
            coverage = 0.5 + 0.5 * len(matched[doc]) / len(terms)
            phrases = sum(pair in self._pairs[doc] for pair in pairs)
            titled = sum(term in self._titles[doc] for term in terms)
            return (
                coverage
                * (1.0 + PHRASE_BONUS * phrases / max(len(pairs), 1))
                * (1.0 + TITLE_BONUS * titled / len(terms))
            )

        ranked = sorted(
            ((score * boost(doc), doc) for doc, score in scores.items()),
            key=lambda pair: (-pair[0], pair[1]),
        )
        return [
            Hit(doc, round(score, 4), excerpt(self._passages[doc], wanted))
            for score, doc in ranked[:limit]
        ]


def _pairs(terms: Sequence[str]) -> list[tuple[str, str]]:
    """Neighbouring words, common words left out: ``empty the bin`` → ``(empty, bin)``."""
    kept = [term for term in terms if term not in STOP_WORDS]
    return list(itertools.pairwise(kept))


Span = tuple[int, int, str]
"""A word of a text: start and end offsets, and its normalised form."""


def spans(text: str) -> list[Span]:
    return [(m.start(), m.end(), normalise(m.group())) for m in _WORD.finditer(text)]


def excerpt(passages: Sequence[tuple[str, list[Span]]], wanted: set[str]) -> Excerpt:
    """The passage with the most of the ``wanted`` terms, cut to about
    :data:`EXCERPT_WORDS` words around them, and where they are in it."""
    best: tuple[int, int] = (-1, -1)
    best_passage: tuple[str, list[Span]] = ("", [])
    for passage in passages:
        terms = [term for _, _, term in passage[1] if term in wanted]
        rank = (len(set(terms)), len(terms))
        if rank > best:
            best, best_passage = rank, passage
    return _window(*best_passage, wanted)


def _window(text: str, words_of: list[Span], wanted: set[str]) -> Excerpt:
    offset = 0
    prefix = suffix = ""
    if len(words_of) > EXCERPT_WORDS:
        hits = [i for i, (_, _, term) in enumerate(words_of) if term in wanted]
        first = 0
        if hits:
            # The window with the most hits; among equals, the one starting nearest to
            # three words before the first hit.
            first = max(
                range(len(words_of) - EXCERPT_WORDS + 1),
                key=lambda start: (
                    sum(start <= h < start + EXCERPT_WORDS for h in hits),
                    -abs(start - max(hits[0] - 3, 0)),
                ),
            )
        last = first + EXCERPT_WORDS - 1
        start = 0 if first == 0 else words_of[first][0]
        end = len(text) if last == len(words_of) - 1 else words_of[last][1]
        if start > 0:
            prefix = "… "
        if end < len(text):
            suffix = " …"
        offset = start - len(prefix)
        words_of = words_of[first : last + 1]
        text = prefix + text[start:end] + suffix
    highlights = tuple((s - offset, e - offset) for s, e, term in words_of if term in wanted)
    return Excerpt(text, highlights)
