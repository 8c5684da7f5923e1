"""The help centre: articles at /help, their search, and the search as JSON.

Pages are HTML rendered on the server (they work without JavaScript) with the web
client's security headers; an unknown category or article is a 404 page that names its
stable code (``category_not_found``, ``article_not_found``). ``GET /v1/help/search`` is
the same search for the web client and scripts. No route needs an account.
"""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Query, Request
from fastapi.responses import FileResponse, HTMLResponse, RedirectResponse

from coffre.errors import BadRequest, CoffreError, NotFound
from coffre.help import pages
from coffre.help.centre import HelpCentre, default_centre
from coffre.protocol.help import HelpResult, HelpSearch
from coffre.web import SECURITY_HEADERS

router = APIRouter(tags=["help"])

_HEADERS = {**SECURITY_HEADERS, "cache-control": "no-cache"}


def centre_of(request: Request) -> HelpCentre:
    """The app's help centre (tests set ``app.state.help_centre``), else the shipped one."""
    centre = getattr(request.app.state, "help_centre", None)
    return centre if isinstance(centre, HelpCentre) else default_centre()


def _html(body: str, status: int = 200) -> HTMLResponse:
    return HTMLResponse(body, status_code=status, headers=_HEADERS)


def _error_page(exc: CoffreError, title: str, query: str = "") -> HTMLResponse:
    return _html(pages.error(title, exc.message, exc.code, query), exc.status)


@router.get("/help", include_in_schema=False)
def home(request: Request) -> HTMLResponse:
    return _html(pages.home(centre_of(request)))


@router.get("/help/", include_in_schema=False)
def home_slash() -> RedirectResponse:
    return RedirectResponse("/help", status_code=308, headers=_HEADERS)


@router.get("/help/help.css", include_in_schema=False)
def stylesheet() -> FileResponse:
    return FileResponse(pages.STYLESHEET, media_type="text/css", headers=_HEADERS)


@router.get("/help/search", include_in_schema=False)
def search_page(request: Request, q: str = "") -> HTMLResponse:
    query = q.strip()
    if len(query) > pages.MAX_QUERY:
        exc = BadRequest(
            "invalid_request", f"a search is at most {pages.MAX_QUERY} characters long"
        )
        return _error_page(exc, "Search too long")
    centre = centre_of(request)
    results = centre.search(query) if query else []
    return _html(pages.search(centre, query, results))


@router.get("/help/{category}", include_in_schema=False)
def category_page(request: Request, category: str) -> HTMLResponse:
    centre = centre_of(request)
    found = centre.category(category)
    if found is None:
        exc = NotFound("category_not_found", "There is no help topic at this address.")
        return _error_page(exc, "Topic not found")
    return _html(pages.category(centre, found))


@router.get("/help/{category}/{slug}", include_in_schema=False)
def article_page(request: Request, category: str, slug: str) -> HTMLResponse:
    centre = centre_of(request)
    page = centre.page(category, slug)
    if page is None:
        exc = NotFound("article_not_found", "There is no help article at this address.")
        return _error_page(exc, "Article not found")
    return _html(pages.article(centre, page))


@router.get("/v1/help/search")
def search(
    request: Request,
    q: Annotated[str, Query(min_length=1, max_length=pages.MAX_QUERY, description="words")],
    limit: Annotated[int, Query(ge=1, le=50)] = 10,
) -> HelpSearch:
    """Search the help articles (no account needed); best matches first."""
    results = centre_of(request).search(q, limit)
    return HelpSearch(
        query=q,
        results=[
            HelpResult(
                title=r.page.article.title,
                url=r.page.article.path,
                category=r.page.category.slug,
                category_title=r.page.category.title,
                summary=r.page.article.summary,
                excerpt=r.excerpt.text,
                highlights=list(r.excerpt.highlights),
                score=r.score,
            )
            for r in results
        ],
    )
