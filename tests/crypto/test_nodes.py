"""Node keys, names and versions: bound to ids, parents and kinds (SECURITY.md A7-A9)."""

from __future__ import annotations

import os

import pytest

from coffre.crypto import nodes as cn
from coffre.errors import IntegrityError, UsageError

PARENT_KEY = os.urandom(32)
NODE, PARENT, OTHER = os.urandom(16), os.urandom(16), os.urandom(16)


def test_node_key_binds_node_parent_and_kind() -> None:
    key = os.urandom(32)
    wrapped = cn.wrap_node_key(PARENT_KEY, NODE, PARENT, cn.Kind.FILE, key)
    assert cn.unwrap_node_key(PARENT_KEY, NODE, PARENT, cn.Kind.FILE, wrapped) == key
    for node, parent, kind in (
        (OTHER, PARENT, cn.Kind.FILE),
        (NODE, OTHER, cn.Kind.FILE),
        (NODE, PARENT, cn.Kind.FOLDER),
    ):
        with pytest.raises(IntegrityError):
            cn.unwrap_node_key(PARENT_KEY, node, parent, kind, wrapped)
    with pytest.raises(IntegrityError):
        cn.unwrap_node_key(os.urandom(32), NODE, PARENT, cn.Kind.FILE, wrapped)


def test_names_bind_node_and_parent_and_hide_length() -> None:
    key = os.urandom(32)
    sealed = cn.seal_meta(key, NODE, PARENT, cn.Kind.FOLDER, "Photos 2026")
    assert cn.open_meta(key, NODE, PARENT, cn.Kind.FOLDER, sealed) == "Photos 2026"
    with pytest.raises(IntegrityError):
        cn.open_meta(key, OTHER, PARENT, cn.Kind.FOLDER, sealed)
    with pytest.raises(IntegrityError):
        cn.open_meta(key, NODE, OTHER, cn.Kind.FOLDER, sealed)
    a = cn.seal_meta(key, NODE, PARENT, cn.Kind.FILE, "a")
    b = cn.seal_meta(key, NODE, PARENT, cn.Kind.FILE, "abcdefghij")
    assert len(a) == len(b)


@pytest.mark.parametrize("bad", ["", ".", "..", "a/b", "a\\b", "nul\x00", "tab\t", "x" * 256])
def test_bad_names_are_refused(bad: str) -> None:
    with pytest.raises(UsageError):
        cn.check_name(bad)


def test_a_valid_envelope_with_a_dangerous_name_is_refused() -> None:
    """A malicious sharer could seal '../x' properly; opening refuses it anyway."""
    key = os.urandom(32)
    raw = cn.pack_json({"name": "../../.bashrc"})
    from coffre.crypto.envelope import Purpose, seal

    sealed = seal(key, Purpose.NODE_META, NODE + PARENT + bytes([cn.Kind.FILE]), raw)
    with pytest.raises(IntegrityError):
        cn.open_meta(key, NODE, PARENT, cn.Kind.FILE, sealed)


def test_name_tags_are_per_folder_and_normalized() -> None:
    other_key = os.urandom(32)
    assert cn.name_tag(PARENT_KEY, "caf\u00e9") == cn.name_tag(PARENT_KEY, "cafe\u0301")
    assert cn.name_tag(PARENT_KEY, "a") != cn.name_tag(other_key, "a")
    assert len(cn.name_tag(PARENT_KEY, "a")) == 16


def test_version_envelope() -> None:
    key, version = os.urandom(32), os.urandom(16)
    info = cn.VersionInfo(
        os.urandom(32), os.urandom(16), 12345, 1_700_000_000_000, "text/plain", os.urandom(32), 4096
    )
    sealed = cn.seal_version(key, NODE, version, info)
    assert cn.open_version(key, NODE, version, sealed) == info
    with pytest.raises(IntegrityError):
        cn.open_version(key, OTHER, version, sealed)
    with pytest.raises(IntegrityError):
        cn.open_version(key, NODE, os.urandom(16), sealed)
    assert "content_key" not in repr(info) or info.content_key.hex() not in repr(info)
