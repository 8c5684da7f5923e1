"""JSON answers made in the worker thread, for the hot routes of the API.

A synchronous FastAPI route that returns a pydantic model costs two trips to the thread
pool (the route, then validating the model it returned, again, before writing it) and a
validation the model does not need: the services build their models from validated
input and from our own database. A route that awaits :func:`answer` instead makes one
trip, and the model is written to JSON there, as FastAPI would have written it (the
models have no aliases; bytes go out as base64 through the models' own configuration).
Routes keep ``response_model=`` for the API's schema.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import ParamSpec

from fastapi import Response
from pydantic import BaseModel
from starlette.concurrency import run_in_threadpool

P = ParamSpec("P")

JSON = "application/json"


def json_response(model: BaseModel, status: int = 200) -> Response:
    return Response(model.model_dump_json(), status_code=status, media_type=JSON)


async def answer(call: Callable[P, BaseModel], *args: P.args, **kwargs: P.kwargs) -> Response:
    """``call(*args, **kwargs)`` in a worker thread, its model written as the 200 answer."""
    return await run_in_threadpool(_call_json, 200, call, *args, **kwargs)


async def created(call: Callable[P, BaseModel], *args: P.args, **kwargs: P.kwargs) -> Response:
    """The same, answered 201 (a new resource)."""
    return await run_in_threadpool(_call_json, 201, call, *args, **kwargs)


def _call_json(
    status: int, call: Callable[P, BaseModel], /, *args: P.args, **kwargs: P.kwargs
) -> Response:
    return json_response(call(*args, **kwargs), status)
