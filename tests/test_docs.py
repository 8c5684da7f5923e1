"""The documents keep up with the code: every setting, command and error code is described.

- every server setting (its environment variable) is in docs/deploy.md;
- every ``coffre`` command, subcommand and option is in docs/cli.md;
- every error code the code can raise or answer is in docs/api.md.

Error codes are collected from the source with :mod:`ast`, not imported, so a code added
anywhere in ``src/coffre`` without documentation fails here.
"""

from __future__ import annotations

import ast
import re
from collections.abc import Iterator
from functools import cache
from pathlib import Path

import click
import pytest

from coffre import errors
from coffre.cli.main import cli
from coffre.server.config import DOCS

ROOT = Path(__file__).resolve().parent.parent
SRC = ROOT / "src" / "coffre"
DOCS_DIR = ROOT / "docs"

_CODE = re.compile(r"^[a-z][a-z0-9_]*$")


def _subclasses(cls: type) -> Iterator[type]:
    subclasses: list[type] = cls.__subclasses__()
    for sub in subclasses:
        yield sub
        yield from _subclasses(sub)


# The exception classes whose first argument is a stable error code.
ERROR_CLASSES = frozenset(
    {errors.ApiError.__name__} | {c.__name__ for c in _subclasses(errors.ApiError)}
)
# Functions whose second argument is an error code: ``f(status, code, message)``.
CODE_SECOND = frozenset({"api_error", "error_response"})


@cache
def read_doc(name: str) -> str:
    return (DOCS_DIR / name).read_text(encoding="utf-8")


def _name(node: ast.expr) -> str | None:
    if isinstance(node, ast.Name):
        return node.id
    if isinstance(node, ast.Attribute):
        return node.attr
    return None


def _string(node: ast.expr | None) -> str | None:
    if isinstance(node, ast.Constant) and isinstance(node.value, str):
        return node.value
    return None


def _codes_in(tree: ast.AST) -> Iterator[str]:
    code_tables: set[str] = set()
    for node in ast.walk(tree):
        # _HTTP_CODES = {404: "not_found", ...}: a module-level table of codes.
        if isinstance(node, ast.Assign | ast.AnnAssign) and isinstance(node.value, ast.Dict):
            targets = node.targets if isinstance(node, ast.Assign) else [node.target]
            names = [_name(t) for t in targets]
            if any(n is not None and n.upper().endswith("CODES") for n in names):
                code_tables.update(n for n in names if n is not None)
                yield from (s for v in node.value.values if (s := _string(v)) is not None)
        # {"error": {"code": "too_large", ...}}: a body written out by hand.
        if isinstance(node, ast.Dict):
            for key, value in zip(node.keys, node.values, strict=True):
                if _string(key) == "code" and (s := _string(value)) is not None:
                    yield s
        if not isinstance(node, ast.Call):
            continue
        func = _name(node.func)
        if func in ERROR_CLASSES and node.args:
            code = _string(node.args[0])
        elif func in CODE_SECOND and len(node.args) > 1:
            code = _string(node.args[1])
        else:
            code = None
        if code is not None:
            yield code
        yield from (s for kw in node.keywords if kw.arg == "code" and (s := _string(kw.value)))
    # _HTTP_CODES.get(status, "http_error"): the table's default.
    for node in ast.walk(tree):
        if (
            isinstance(node, ast.Call)
            and isinstance(node.func, ast.Attribute)
            and node.func.attr == "get"
            and _name(node.func.value) in code_tables
            and len(node.args) > 1
            and (s := _string(node.args[1])) is not None
        ):
            yield s


@cache
def error_codes() -> frozenset[str]:
    """Every error code string in src/coffre."""
    found: set[str] = set()
    for path in sorted(SRC.rglob("*.py")):
        tree = ast.parse(path.read_text(encoding="utf-8"), filename=str(path))
        found.update(code for code in _codes_in(tree) if _CODE.match(code))
    return frozenset(found)


def _documented(text: str, word: str) -> bool:
    """``word`` appears in ``text`` as code (between backticks)."""
    return re.search(rf"`{re.escape(word)}`", text) is not None


def _top_level() -> dict[str, click.Command]:
    """Every top-level command (they are imported lazily: list, then get each)."""
    ctx = click.Context(cli)
    found = {name: cli.get_command(ctx, name) for name in cli.list_commands(ctx)}
    return {name: command for name, command in found.items() if command is not None}


def _commands() -> Iterator[tuple[str, click.Command]]:
    """``(full name, command)`` for every command and subcommand of ``coffre``."""
    stack: list[tuple[str, click.Command]] = [
        (f"coffre {name}", command) for name, command in _top_level().items()
    ]
    while stack:
        name, command = stack.pop()
        yield name, command
        if isinstance(command, click.Group):
            stack.extend((f"{name} {sub}", c) for sub, c in command.commands.items())


def test_the_scanner_finds_codes_from_every_kind_of_source() -> None:
    codes = error_codes()
    # One from each kind of place the scanner looks at, so that it cannot silently find nothing.
    for expected in (
        "invalid_credentials",  # a call spread over several lines
        "too_many_attempts",  # RateLimited, with a keyword argument after the message
        "quota_exceeded",
        "node_not_found",
        "invalid_request",  # error_response(400, ...) in http_errors.py
        "method_not_allowed",  # the _HTTP_CODES table
        "http_error",  # the table's default
        "too_large",  # limits.py writes its body by hand
        "database_unavailable",
        "internal_error",
    ):
        assert expected in codes


@pytest.mark.parametrize("code", sorted(error_codes()))
def test_error_code_is_in_api_doc(code: str) -> None:
    assert _documented(read_doc("api.md"), code), f"docs/api.md does not describe `{code}`"


@pytest.mark.parametrize("field", sorted(DOCS))
def test_setting_is_in_deploy_doc(field: str) -> None:
    env = DOCS[field].env
    assert _documented(read_doc("deploy.md"), env), f"docs/deploy.md does not describe `{env}`"


def test_every_top_level_command_is_in_cli_doc() -> None:
    text = read_doc("cli.md")
    missing = [
        name
        for name in _top_level()
        if re.search(rf"\bcoffre {re.escape(name)}(?![\w-])", text) is None
    ]
    assert not missing, f"docs/cli.md does not describe: {', '.join(missing)}"


@pytest.mark.parametrize("name", sorted(name for name, _ in _commands()))
def test_every_command_and_option_is_in_cli_doc(name: str) -> None:
    text = read_doc("cli.md")
    command = dict(_commands())[name]
    pattern = r"\s+".join(re.escape(part) for part in name.split())
    assert re.search(rf"{pattern}(?![\w-])", text), f"docs/cli.md does not describe `{name}`"
    for param in command.params:
        if isinstance(param, click.Option) and not param.hidden:
            assert any(
                re.search(rf"(?<![\w-]){re.escape(o)}(?![\w-])", text) for o in param.opts
            ), f"docs/cli.md does not describe {'/'.join(param.opts)} of `{name}`"
