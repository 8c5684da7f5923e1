"""The checked-in known-answer vectors: the files, the script and the crypto core agree.

The vectors are opened here with the high-level functions the client uses (not with the
generic envelope), so they also check the context layouts docs/crypto.md specifies.
"""

from __future__ import annotations

import importlib.util
import json
from pathlib import Path
from typing import Any

import pytest

from coffre.crypto import _primitives as p
from coffre.crypto import account as ca
from coffre.crypto import links as cl
from coffre.crypto import nodes as cn
from coffre.crypto import shares as csh
from coffre.crypto import stream as cs
from coffre.crypto.envelope import Purpose, open_
from coffre.crypto.identity import Identity, check_own_identity, verify_published
from coffre.errors import IntegrityError

ROOT = Path(__file__).resolve().parents[2]
VECTORS = ROOT / "tests" / "vectors"


def load(name: str) -> Any:
    return json.loads((VECTORS / name).read_text(encoding="utf-8"))


def b(text: str) -> bytes:
    return bytes.fromhex(text)


def flip(data: bytes, index: int) -> bytes:
    return data[:index] + bytes([data[index] ^ 1]) + data[index + 1 :]


def test_files_are_what_the_script_makes() -> None:
    spec = importlib.util.spec_from_file_location(
        "make_vectors", ROOT / "scripts" / "make_vectors.py"
    )
    assert spec is not None
    assert spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    for name, value in module.build().items():
        assert (VECTORS / name).read_text(encoding="utf-8") == module.render(value), name


@pytest.mark.parametrize("vector", load("kdf.json"), ids=lambda v: v["password"])
def test_kdf(vector: dict[str, Any]) -> None:
    params = ca.KdfParams(
        vector["time_cost"], vector["memory_kib"], vector["lanes"], b(vector["salt"])
    )
    assert params.encode() == b(vector["params_encoded"])
    secrets = ca.derive_login_secrets(vector["password"], params)
    assert secrets.auth_secret == b(vector["auth_secret"])
    assert secrets.kek == b(vector["kek"])
    assert ca.auth_hash(secrets.auth_secret) == b(vector["auth_hash"])


@pytest.mark.parametrize("vector", load("envelope.json"), ids=lambda v: v["purpose"])
def test_envelopes(vector: dict[str, Any]) -> None:
    purpose = Purpose(vector["purpose"])
    sealed = b(vector["sealed"])
    assert sealed[1:13] == b(vector["nonce"])
    assert open_(b(vector["key"]), purpose, b(vector["context"]), sealed, what="x") == b(
        vector["plaintext"]
    )
    tampered = bytearray(sealed)
    tampered[-1] ^= 1
    with pytest.raises(IntegrityError):
        open_(b(vector["key"]), purpose, b(vector["context"]), bytes(tampered), what="x")


def test_account() -> None:
    v = load("account.json")
    user_id, params_raw = b(v["user_id"]), b(v["params_encoded"])
    salt = params_raw[14:]
    params = ca.KdfParams(3, 65536, 1, salt)
    assert params.encode() == params_raw
    mk = ca.unwrap_master_key(b(v["kek"]), user_id, params, b(v["master_key_sealed"]))
    assert mk == b(v["master_key"])
    identity = Identity.open(mk, user_id, b(v["identity_keys_sealed"]))
    assert identity.x25519_private == b(v["x25519_private"])
    assert identity.public.x25519 == b(v["x25519_public"])
    assert identity.public.ed25519 == b(v["ed25519_public"])
    assert identity.public.statement() == b(v["public_statement"])
    assert identity.publish() == b(v["published"])
    check_own_identity(identity, b(v["published"]))
    assert identity.public.fingerprint() == v["fingerprint"]
    root = ca.unwrap_root_key(mk, user_id, b(v["root_id"]), b(v["root_key_sealed"]))
    assert root == b(v["root_key"])
    assert ca.encode_recovery_key(mk) == v["recovery_key"]
    assert ca.decode_recovery_key(v["recovery_key"]) == mk
    assert ca.recovery_verifier(mk) == b(v["recovery_verifier"])


def test_nodes() -> None:
    v = load("nodes.json")
    parent_key, node_id, parent_id = b(v["parent_key"]), b(v["node_id"]), b(v["parent_id"])
    kind = cn.Kind(v["kind"])
    node_key = cn.unwrap_node_key(parent_key, node_id, parent_id, kind, b(v["node_key_sealed"]))
    assert node_key == b(v["node_key"])
    assert cn.pack_json({"name": v["name"]}) == b(v["meta_plaintext"])
    assert cn.open_meta(node_key, node_id, parent_id, kind, b(v["meta_sealed"])) == v["name"]
    assert cn.name_tag(parent_key, v["name"]) == b(v["name_tag"])
    info = cn.open_version(node_key, node_id, b(v["version_id"]), b(v["version_sealed"]))
    expected = v["version"]
    assert info == cn.VersionInfo(
        b(expected["content_key"]),
        b(expected["content_id"]),
        expected["size"],
        expected["mtime_ms"],
        expected["media_type"],
        b(expected["content_hash"]),
        expected["chunk_size"],
    )


@pytest.mark.parametrize(
    "vector", load("stream.json"), ids=lambda v: f"{len(v['plaintext']) // 2}B"
)
def test_stream(vector: dict[str, Any]) -> None:
    key, content_id = b(vector["content_key"]), b(vector["content_id"])
    chunks = [b(c) for c in vector["chunks"]]
    plaintext = b"".join(cs.decrypt_all(key, content_id, b(vector["header"]), chunks))
    assert plaintext == b(vector["plaintext"])
    size, chunk_size = len(plaintext), vector["chunk_size"]
    header, again = cs.encrypt_all(key, content_id, plaintext, chunk_size)
    assert header == b(vector["header"])
    assert again == chunks
    digests = [
        cs.chunk_digest(plaintext[i : i + chunk_size]) for i in range(0, max(size, 1), chunk_size)
    ]
    assert cs.content_hash(digests) == b(vector["content_hash"])


def test_thumbnails() -> None:
    v = load("nodes.json")
    node_key, node_id, version_id = b(v["node_key"]), b(v["node_id"]), b(v["version_id"])
    sealed, image = b(v["thumbnail_sealed"]), b(v["thumbnail_plaintext"])
    assert cn.open_thumbnail(node_key, node_id, version_id, sealed) == image
    with pytest.raises(IntegrityError):  # bound to its version: not movable to another
        cn.open_thumbnail(node_key, node_id, bytes(16), sealed)
    with pytest.raises(IntegrityError):
        cn.open_thumbnail(node_key, node_id, version_id, flip(sealed, 60))
    with pytest.raises(ValueError, match="at most"):
        cn.seal_thumbnail(node_key, node_id, version_id, bytes(cn.THUMBNAIL_MAX_BYTES + 1))


def test_links() -> None:
    v = load("links.json")
    link_key, link_id, node_id = b(v["link_key"]), b(v["link_id"]), b(v["node_id"])
    assert cl.encode_key(link_key) == v["encoded_key"]
    assert cl.decode_key(v["encoded_key"]) == link_key
    assert cl.link_auth(link_key) == b(v["auth"])
    assert ca.auth_hash(cl.link_auth(link_key)) == b(v["auth_hash"])
    kind = cn.Kind(v["kind"])
    assert cl.unwrap(link_key, link_id, node_id, kind, b(v["envelope"])) == b(v["node_key"])
    with pytest.raises(IntegrityError):
        cl.unwrap(link_key, link_id, node_id, cn.Kind.FILE, b(v["envelope"]))
    raw = b(v["params_encoded"])
    params = ca.KdfParams(3, 65536, 1, raw[14:])
    assert params.encode() == raw
    assert cl.password_key(v["password"], params) == b(v["password_key"])


def test_upload_request() -> None:
    v = load("links.json")["request"]
    public, link_id, node_id = b(v["public"]), b(v["link_id"]), b(v["node_id"])
    assert cl.encode_key(public) == v["encoded_public"]
    sealed = cl.seal_to_request(
        public,
        link_id,
        node_id,
        b(v["node_key"]),
        ephemeral_private=b(v["ephemeral_private"]),
        nonce=b(v["nonce"]),
    )
    assert sealed == b(v["envelope"])
    private = b(v["private"])
    assert cl.open_from_request(private, link_id, node_id, sealed) == b(v["node_key"])
    for tampered in (
        flip(sealed, 0),  # suite
        flip(sealed, 5),  # ephemeral key
        flip(sealed, 50),  # commitment
        flip(sealed, 100),  # ciphertext
    ):
        with pytest.raises(IntegrityError):
            cl.open_from_request(private, link_id, node_id, tampered)
    with pytest.raises(IntegrityError):  # bound to the link and the node
        cl.open_from_request(private, link_id, bytes(16), sealed)


def _identity(person: dict[str, str]) -> Identity:
    identity = Identity(
        b(person["user_id"]), b(person["x25519_private"]), b(person["ed25519_private"])
    )
    assert identity.publish() == b(person["published"])
    return identity


def test_shares() -> None:
    v = load("shares.json")
    owner, member = _identity(v["owner"]), _identity(v["member"])
    facts = csh.ShareFacts(
        b(v["share_id"]),
        owner.user_id,
        member.user_id,
        b(v["folder_id"]),
        csh.Access(v["access"]),
    )
    assert facts.associated_data() == b(v["associated_data"])
    envelope = b(v["envelope"])
    owner_public = verify_published(b(v["owner"]["published"]), owner.user_id)
    csh.verify_share(owner_public, facts, envelope)
    assert csh.open_share(member, owner_public, facts, envelope) == b(v["folder_key"])
    lower = csh.ShareFacts(
        facts.share_id, facts.owner_id, facts.member_id, facts.folder_id, csh.Access.READ
    )
    with pytest.raises(IntegrityError):
        csh.verify_share(owner_public, lower, envelope)

    writer = member.public
    n = v["node"]
    node_args = (
        b(n["node_id"]),
        b(n["parent_id"]),
        cn.Kind(n["kind"]),
        b(n["key_envelope"]),
        b(n["meta_envelope"]),
    )
    assert csh.sign_node(member, *node_args) == b(n["signature"])
    csh.verify_node(writer, b(n["signature"]), *node_args)
    with pytest.raises(IntegrityError):
        csh.verify_node(owner.public, b(n["signature"]), *node_args)
    ver = v["version"]
    version_args = (b(ver["node_id"]), b(ver["version_id"]), b(ver["envelope"]), b(ver["header"]))
    assert csh.sign_version(member, *version_args) == b(ver["signature"])
    csh.verify_version(writer, b(ver["signature"]), *version_args)


def test_tree_copy(tmp_path: Path) -> None:
    """The kept copy of a tree (docs/crypto.md, section 11): frames sealed under the master
    key for the account, each bound to the one before, laid out so that the client reads
    them as specified and writes them byte for byte."""
    from coffre.client import tree_copy
    from coffre.client.drive import Entry

    v = load("tree_copy.json")
    master_key, user_id, copy = b(v["master_key"]), b(v["user_id"]), b(v["copy"])
    whole, changes = (b(f) for f in v["frames"])
    first_length = int.from_bytes(copy[:4], "little")
    first, second = copy[4 : 4 + first_length], copy[8 + first_length :]
    assert ca.open_tree_copy(master_key, user_id, bytes(16), first) == whole
    assert ca.open_tree_copy(master_key, user_id, first[-16:], second) == changes
    with pytest.raises(IntegrityError):  # another account
        ca.open_tree_copy(master_key, flip(user_id, 0), bytes(16), first)
    with pytest.raises(IntegrityError):  # out of its place in the chain
        ca.open_tree_copy(master_key, user_id, bytes(16), second)
    root = Entry(v["root_id"], None, "folder", "", b"\0" * 32)
    path = tmp_path / "tree.bin"
    reader = tree_copy.TreeCopy(path, master_key, user_id)
    for expected, data in ((v["after_first"], copy[: 4 + first_length]), (v["after_second"], copy)):
        path.write_bytes(data)
        kept = reader.load(root)
        assert kept is not None and kept.clean
        assert kept.seq == expected["seq"] and kept.shared == frozenset(expected["shared"])
        assert set(kept.tree.entries) == {root.id} | {e["id"] for e in expected["entries"]}
        for e in expected["entries"]:
            entry = kept.tree.entries[e["id"]]
            assert (entry.parent_id, entry.name, entry.key) == (
                e["parent_id"],
                e["name"],
                b(e["key"]),
            )
            if "version_plaintext" in e:
                assert entry.version == cn.parse_version(b(e["version_plaintext"]))
                assert entry.size == e["size"] and entry.trashed == e["trashed"]
            else:
                assert entry.version is None
        if data is not copy:  # written back as it was read
            entries = tree_copy._in_tree_order(kept.tree)
            assert tree_copy._frame(tree_copy.WHOLE, kept.seq, kept.shared, [], entries) == whole
    renamed = kept.tree.entries[v["after_second"]["entries"][1]["id"]]
    removed = v["after_second"]["removed"]
    assert tree_copy._frame(tree_copy.CHANGES, 1240, kept.shared, removed, [renamed]) == changes


ED25519 = load("ed25519.json")


def test_ed25519_signs_and_verifies_as_rfc_8032_says() -> None:
    v = ED25519["rfc8032_test2"]
    assert p.ed25519_public(b(v["secret"])) == b(v["public"])
    assert p.ed25519_sign(b(v["secret"]), b(v["message"])) == b(v["signature"])
    p.ed25519_verify(b(v["public"]), b(v["signature"]), b(v["message"]))


@pytest.mark.parametrize("vector", ED25519["refused"], ids=lambda v: v["what"])
def test_ed25519_refuses_every_altered_signature(vector: dict[str, str]) -> None:
    """libsodium's checks: the small-order cases pass OpenSSL 3's (and WebCrypto's)."""
    with pytest.raises(p.AuthenticationFailed):
        p.ed25519_verify(b(vector["public"]), b(vector["signature"]), b(vector["message"]))
