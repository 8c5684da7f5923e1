"""Make the known-answer test vectors in tests/vectors/ (run: make vectors).

Every input is fixed (keys, ids, nonces, passwords), so the output is the same on every
run; tests/crypto/test_vectors.py checks that the files, this script and the crypto core
agree, and the web client checks the same files in the browser. Byte strings are hex.
Envelopes are sealed here with :func:`coffre.crypto.envelope.seal` and the context layout
written out from docs/crypto.md, then opened in the tests with the high-level functions,
so a drift between the spec and the code shows.
"""

from __future__ import annotations

import hashlib
import json
import struct
import sys
from pathlib import Path
from typing import Any

from coffre.crypto import _primitives as p
from coffre.crypto import account as ca
from coffre.crypto import links as cl
from coffre.crypto import nodes as cn
from coffre.crypto import shares as csh
from coffre.crypto import stream as cs
from coffre.crypto.envelope import Purpose, seal
from coffre.crypto.identity import Identity

OUT = Path(__file__).resolve().parent.parent / "tests" / "vectors"


def fixed(label: str, n: int) -> bytes:
    """Deterministic test bytes: the first n bytes of SHA-256 chains over ``label``."""
    out = b""
    block = label.encode()
    while len(out) < n:
        block = hashlib.sha256(block).digest()
        out += block
    return out[:n]


def h(b: bytes) -> str:
    return b.hex()


def kdf_vectors() -> list[dict[str, Any]]:
    vectors = []
    for password in ("correct horse battery staple", "caf\u00e9 \U0001f512"):
        params = ca.KdfParams(3, 65536, 1, fixed(f"salt {password}", 16))
        secrets = ca.derive_login_secrets(password, params)
        vectors.append(
            {
                "password": password,
                "password_utf8_nfc": h(ca.normalize_password(password)),
                "time_cost": params.time_cost,
                "memory_kib": params.memory_kib,
                "lanes": params.lanes,
                "salt": h(params.salt),
                "params_encoded": h(params.encode()),
                "auth_secret": h(secrets.auth_secret),
                "kek": h(secrets.kek),
                "auth_hash": h(ca.auth_hash(secrets.auth_secret)),
            }
        )
    return vectors


def envelope_vectors() -> list[dict[str, Any]]:
    vectors = []
    for purpose in Purpose:
        key = fixed(f"key {purpose.value}", 32)
        context = fixed(f"context {purpose.value}", 33)
        nonce = fixed(f"nonce {purpose.value}", 12)
        plaintext = f"plaintext for {purpose.value}".encode()
        vectors.append(
            {
                "purpose": purpose.value,
                "key": h(key),
                "context": h(context),
                "nonce": h(nonce),
                "plaintext": h(plaintext),
                "sealed": h(seal(key, purpose, context, plaintext, nonce=nonce)),
            }
        )
    return vectors


def account_vectors() -> dict[str, Any]:
    params = ca.KdfParams(3, 65536, 1, fixed("account salt", 16))
    kek = fixed("kek", 32)
    user_id, root_id = fixed("user id", 16), fixed("root id", 16)
    master_key, root_key = fixed("master key", 32), fixed("root key", 32)
    identity = Identity(user_id, fixed("x25519 private", 32), fixed("ed25519 private", 32))
    statement = identity.public.statement()
    return {
        "user_id": h(user_id),
        "params_encoded": h(params.encode()),
        "kek": h(kek),
        "master_key": h(master_key),
        "master_key_sealed": h(
            seal(
                kek,
                Purpose.MASTER_KEY,
                user_id + params.encode(),
                master_key,
                nonce=fixed("n1", 12),
            )
        ),
        "x25519_private": h(identity.x25519_private),
        "ed25519_private": h(identity.ed25519_private),
        "identity_keys_sealed": h(
            seal(
                master_key,
                Purpose.IDENTITY_KEYS,
                user_id,
                identity.x25519_private + identity.ed25519_private,
                nonce=fixed("n2", 12),
            )
        ),
        "x25519_public": h(identity.public.x25519),
        "ed25519_public": h(identity.public.ed25519),
        "public_statement": h(statement),
        "published": h(identity.publish()),
        "fingerprint": identity.public.fingerprint(),
        "root_id": h(root_id),
        "root_key": h(root_key),
        "root_key_sealed": h(
            seal(master_key, Purpose.ROOT_KEY, user_id + root_id, root_key, nonce=fixed("n3", 12))
        ),
        "recovery_key": ca.encode_recovery_key(master_key),
        "recovery_verifier": h(ca.recovery_verifier(master_key)),
    }


def node_vectors() -> dict[str, Any]:
    parent_key, node_key = fixed("parent key", 32), fixed("node key", 32)
    node_id, parent_id, version_id = (
        fixed("node id", 16),
        fixed("parent id", 16),
        fixed("version id", 16),
    )
    kind = cn.Kind.FILE
    name = "Rapport d'activit\u00e9 2026.pdf"
    thumbnail = b"\xff\xd8\xff\xe0 a tiny JPEG, as far as a vector needs"
    ctx = node_id + parent_id + bytes([kind])
    info = cn.VersionInfo(
        content_key=fixed("content key", 32),
        content_id=fixed("content id", 16),
        size=3_000_000,
        mtime_ms=1_795_651_200_000,
        media_type="application/pdf",
        content_hash=fixed("content hash", 32),
        chunk_size=1 << 20,
    )
    media_type = info.media_type.encode()
    version_plain = (
        info.content_key
        + info.content_id
        + struct.pack(">QqI", info.size, info.mtime_ms, info.chunk_size)
        + info.content_hash
        + bytes([len(media_type)])
        + media_type
    )
    return {
        "parent_key": h(parent_key),
        "node_key": h(node_key),
        "node_id": h(node_id),
        "parent_id": h(parent_id),
        "version_id": h(version_id),
        "kind": int(kind),
        "name": name,
        "node_key_sealed": h(
            seal(parent_key, Purpose.NODE_KEY, ctx, node_key, nonce=fixed("n4", 12))
        ),
        "meta_plaintext": h(cn.pack_json({"name": name})),
        "meta_sealed": h(
            seal(
                node_key,
                Purpose.NODE_META,
                ctx,
                cn.pack_json({"name": name}),
                nonce=fixed("n5", 12),
            )
        ),
        "name_tag": h(cn.name_tag(parent_key, name)),
        "version": {
            "content_key": h(info.content_key),
            "content_id": h(info.content_id),
            "size": info.size,
            "mtime_ms": info.mtime_ms,
            "media_type": info.media_type,
            "content_hash": h(info.content_hash),
            "chunk_size": info.chunk_size,
        },
        "version_plaintext": h(version_plain),
        "version_sealed": h(
            seal(
                node_key,
                Purpose.VERSION,
                node_id + version_id,
                version_plain,
                nonce=fixed("n6", 12),
            )
        ),
        "thumbnail_plaintext": h(thumbnail),
        "thumbnail_sealed": h(
            seal(
                node_key, Purpose.THUMBNAIL, node_id + version_id, thumbnail, nonce=fixed("n8", 12)
            )
        ),
    }


def stream_vectors() -> list[dict[str, Any]]:
    vectors = []
    for size, chunk_size in ((0, 16), (5, 16), (16, 16), (40, 16), (1000, 64)):
        key, content_id = fixed(f"ck {size}", 32), fixed(f"cid {size}", 16)
        plaintext = fixed(f"plaintext {size}", size)
        header, chunks = cs.encrypt_all(key, content_id, plaintext, chunk_size)
        digests = [
            cs.chunk_digest(plaintext[i : i + chunk_size])
            for i in range(0, max(size, 1), chunk_size)
        ]
        vectors.append(
            {
                "content_key": h(key),
                "content_id": h(content_id),
                "chunk_size": chunk_size,
                "plaintext": h(plaintext),
                "header": h(header),
                "chunks": [h(c) for c in chunks],
                "content_hash": h(cs.content_hash(digests)),
            }
        )
    return vectors


def link_vectors() -> dict[str, Any]:
    link_key = fixed("link key", 32)
    link_id, node_id, node_key = fixed("link id", 16), fixed("link node id", 16), fixed("lnk", 32)
    kind = cn.Kind.FOLDER
    params = ca.KdfParams(3, 65536, 1, fixed("link salt", 16))
    password = "mot de passe partag\u00e9"  # noqa: S105 - a test vector
    auth = p.hkdf_expand(link_key, b"coffre/v1 link-auth", 32)
    stretched = p.argon2id(
        ca.normalize_password(password),
        params.salt,
        time_cost=params.time_cost,
        memory_kib=params.memory_kib,
        lanes=params.lanes,
    )
    return {
        "link_key": h(link_key),
        "encoded_key": cl.encode_key(link_key),
        "link_id": h(link_id),
        "node_id": h(node_id),
        "kind": int(kind),
        "node_key": h(node_key),
        "auth": h(auth),
        "auth_hash": h(ca.auth_hash(auth)),
        "envelope": h(
            seal(
                link_key,
                Purpose.LINK_KEY,
                link_id + node_id + bytes([kind]),
                node_key,
                nonce=fixed("n7", 12),
            )
        ),
        "password": password,
        "params_encoded": h(params.encode()),
        "password_key": h(p.hkdf(stretched, b"coffre/v1 link-password\x00" + params.encode(), 32)),
        "request": request_vector(),
    }


def request_vector() -> dict[str, Any]:
    """An upload-only link's envelope (docs/crypto.md section 9), with a fixed ephemeral key
    and nonce: a visitor's node key encrypted to the request's public key."""
    request_private = fixed("request private", 32)
    link_id, node_id = fixed("request link id", 16), fixed("request node id", 16)
    node_key, ephemeral_private = fixed("request node key", 32), fixed("request ephemeral", 32)
    public = p.x25519_public(request_private)
    nonce = fixed("request nonce", 12)
    envelope = cl.seal_to_request(
        public, link_id, node_id, node_key, ephemeral_private=ephemeral_private, nonce=nonce
    )
    return {
        "private": h(request_private),
        "public": h(public),
        "encoded_public": cl.encode_key(public),
        "link_id": h(link_id),
        "node_id": h(node_id),
        "node_key": h(node_key),
        "ephemeral_private": h(ephemeral_private),
        "nonce": h(nonce),
        "envelope": h(envelope),
    }


def share_vectors() -> dict[str, Any]:
    """A share envelope built from docs/crypto.md section 10 (fixed ephemeral key and nonce),
    and writers' signatures of a node and a version (Ed25519 is deterministic)."""
    owner = Identity(fixed("owner id", 16), fixed("owner x", 32), fixed("owner ed", 32))
    member = Identity(fixed("member id", 16), fixed("member x", 32), fixed("member ed", 32))
    share_id, folder_id, folder_key = fixed("share id", 16), fixed("folder id", 16), fixed("fk", 32)
    access = csh.Access.WRITE
    ad = bytes([0x01]) + share_id + owner.user_id + member.user_id + folder_id + bytes([access])
    ephemeral_private, nonce = fixed("ephemeral", 32), fixed("n8", 12)
    ephemeral = p.x25519_public(ephemeral_private)
    member_x = member.public.x25519
    okm = p.hkdf(
        p.x25519_shared(ephemeral_private, member_x),
        b"coffre/v1 share\x00" + ad,
        64,
        salt=ephemeral + member_x,
    )
    body = ephemeral + nonce + okm[32:] + p.Aead(okm[:32]).encrypt(nonce, folder_key, ad)
    signature = p.ed25519_sign(owner.ed25519_private, b"coffre/v1 share-signature\x00" + ad + body)
    node_id, parent_id, version_id = fixed("sn", 16), fixed("sp", 16), fixed("sv", 16)
    key_env, meta_env = fixed("key envelope", 93), fixed("meta envelope", 109)
    version_env, header = fixed("version envelope", 163), fixed("header", 37)
    kind = cn.Kind.FILE
    node_statement = (
        b"coffre/v1 node-signature\x00"
        + node_id
        + parent_id
        + bytes([kind])
        + p.sha256(key_env)
        + p.sha256(meta_env)
    )
    version_statement = (
        b"coffre/v1 version-signature\x00"
        + node_id
        + version_id
        + p.sha256(version_env)
        + p.sha256(header)
    )
    return {
        "owner": {
            "user_id": h(owner.user_id),
            "x25519_private": h(owner.x25519_private),
            "ed25519_private": h(owner.ed25519_private),
            "published": h(owner.publish()),
        },
        "member": {
            "user_id": h(member.user_id),
            "x25519_private": h(member.x25519_private),
            "ed25519_private": h(member.ed25519_private),
            "published": h(member.publish()),
        },
        "share_id": h(share_id),
        "folder_id": h(folder_id),
        "access": int(access),
        "folder_key": h(folder_key),
        "associated_data": h(ad),
        "ephemeral_private": h(ephemeral_private),
        "nonce": h(nonce),
        "envelope": h(bytes([0x01]) + body + signature),
        "node": {
            "node_id": h(node_id),
            "parent_id": h(parent_id),
            "kind": int(kind),
            "key_envelope": h(key_env),
            "meta_envelope": h(meta_env),
            "statement": h(node_statement),
            "signature": h(p.ed25519_sign(member.ed25519_private, node_statement)),
        },
        "version": {
            "node_id": h(node_id),
            "version_id": h(version_id),
            "envelope": h(version_env),
            "header": h(header),
            "statement": h(version_statement),
            "signature": h(p.ed25519_sign(member.ed25519_private, version_statement)),
        },
    }


def tree_copy_vector() -> dict[str, Any]:
    """A kept copy of a tree (docs/crypto.md, section 11), written out byte by byte from
    the layout: a first frame with /Docs and /Docs/a.txt, then a frame of changes that
    renames a.txt to b.txt and removes a node."""
    master_key, user_id = fixed("tree master key", 32), fixed("tree user id", 16)
    root_id, docs_id, file_id = fixed("tree root", 16), fixed("tree docs", 16), fixed("tree a", 16)
    version_id, author = fixed("tree version", 16), fixed("tree author", 16)
    docs_key, file_key = fixed("tree docs key", 32), fixed("tree a key", 32)
    # The listed records: as GET /v1/nodes sends them (docs/api.md); their envelopes are
    # what the server holds, kept as they were and not opened again.
    key_env, meta_env, sig = fixed("k", 93), fixed("m", 93), fixed("s", 64)
    version_env, header = fixed("v", 172), fixed("h", 37)
    node = "<B16s16s16s16sdddIHHH"
    docs = (
        struct.pack(
            node,
            0x02 | 0x04 | 0x10 | 0x40,
            docs_id,
            root_id,
            fixed("tag docs", 16),
            author,
            1.5,
            2.5,
            0.0,
            0,
            93,
            93,
            64,
        )
        + key_env
        + meta_env
        + sig
    )
    a = (
        struct.pack(
            node + "16s16sIdQIIHHH",
            0x01 | 0x02 | 0x04 | 0x10 | 0x20 | 0x40 | 0x80,
            file_id,
            docs_id,
            fixed("tag a", 16),
            author,
            3.5,
            4.5,
            0.0,
            1,
            93,
            93,
            64,
            version_id,
            author,
            1,
            5.5,
            1100,
            4096,
            1,
            172,
            37,
            64,
        )
        + key_env
        + meta_env
        + sig
        + version_env
        + header
        + sig
    )
    info = cn.VersionInfo(
        fixed("tree content key", 32),
        fixed("tree content id", 16),
        1000,
        1_795_651_200_000,
        "text/plain",
        fixed("tree content hash", 32),
        4096,
    )
    version_plain = (
        info.content_key
        + info.content_id
        + struct.pack(">QqI", info.size, info.mtime_ms, info.chunk_size)
        + info.content_hash
        + bytes([len(info.media_type)])
        + info.media_type.encode()
    )
    head, index = "<4sBQIII", "<16s16s32sBHHI"
    whole = (
        struct.pack(head, b"CFT1", 0, 1234, 1, 0, 2)
        + docs_id
        + struct.pack(index, docs_id, root_id, docs_key, 0x00, 4, 0, len(docs))
        + struct.pack(index, file_id, docs_id, file_key, 0x01, 5, len(version_plain), len(a))
        + b"Docs"
        + docs
        + b"a.txt"
        + version_plain
        + a
    )
    removed = fixed("tree removed", 16)
    changes = (
        struct.pack(head, b"CFT1", 1, 1240, 1, 1, 1)
        + docs_id
        + removed
        + struct.pack(index, file_id, docs_id, file_key, 0x03, 5, len(version_plain), len(a))
        + b"b.txt"
        + version_plain
        + a
    )
    first = seal(master_key, Purpose.TREE_COPY, user_id + bytes(16), whole, nonce=fixed("n9", 12))
    second = seal(
        master_key, Purpose.TREE_COPY, user_id + first[-16:], changes, nonce=fixed("n10", 12)
    )
    copy = struct.pack("<I", len(first)) + first + struct.pack("<I", len(second)) + second

    def state(seq: int, file_name: str, trashed: bool) -> dict[str, Any]:
        """What the copy holds after a frame: the folder, and the file as it then is."""
        folder = {"id": h(docs_id), "parent_id": h(root_id), "name": "Docs", "key": h(docs_key)}
        file = {"id": h(file_id), "parent_id": h(docs_id), "name": file_name, "key": h(file_key)}
        file |= {"trashed": trashed, "version_plaintext": h(version_plain), "size": info.size}
        return {"seq": seq, "shared": [h(docs_id)], "entries": [folder, file]}

    return {
        "master_key": h(master_key),
        "user_id": h(user_id),
        "root_id": h(root_id),
        "frames": [h(whole), h(changes)],
        "copy": h(copy),
        "after_first": state(1234, "a.txt", False),
        "after_second": state(1240, "b.txt", True) | {"removed": [h(removed)]},
    }


ED25519_ORDER = 2**252 + 27742317777372353535851937790883648493
NEUTRAL = b"\x01" + bytes(31)
"""The neutral point of edwards25519, encoded: a point of small order."""


def ed25519_vectors() -> dict[str, Any]:
    """RFC 8032 section 7.1, TEST 2 (a one-byte message), checked against the primitive,
    and altered signatures every client must refuse: libsodium's checks, which OpenSSL 3
    and Chromium's WebCrypto lack for small-order keys and R (docs/crypto.md section 1)."""
    secret = bytes.fromhex("4ccd089b28ff96da9db6c346ec114e0f5b8a319f35aba624da8cf6ed4fb8a6fb")
    public = bytes.fromhex("3d4017c3e843895a92b70aa74d1b7ebc9c982ccf2ec4968cc0cd55f12af4660c")
    message = b"\x72"
    signature = bytes.fromhex(
        "92a009a9f0d4cab8720e820b5f642540a2b27b5416503f8fb3762223ebdb69da"
        "085ac1e43e15996e458f3613d0f11d8c387b2eaeb4302aeeb00d291612bb0c00"
    )
    assert p.ed25519_public(secret) == public
    assert p.ed25519_sign(secret, message) == signature
    s_plus_l = int.from_bytes(signature[32:], "little") + ED25519_ORDER
    flipped = signature[:10] + bytes([signature[10] ^ 1]) + signature[11:]
    refused = [
        ("another message", public, signature, b"\x73"),
        ("a flipped bit", public, flipped, message),
        ("a short signature", public, signature[:-1], message),
        ("a long signature", public, signature + b"\x00", message),
        ("a short key", public[:-1], signature, message),
        # The same signature with S + L: S must be checked to be below L.
        ("S + L", public, signature[:32] + s_plus_l.to_bytes(32, "little"), message),
        # "Valid" for every message unless the key's order is checked (OpenSSL 3 takes it).
        ("the neutral point as key and R, S = 0", NEUTRAL, NEUTRAL + bytes(32), message),
        ("a small-order R", public, NEUTRAL + signature[32:], message),
        ("a key with y >= p", b"\xef" + b"\xff" * 30 + b"\x7f", signature, message),
    ]
    return {
        "rfc8032_test2": {
            "secret": h(secret),
            "public": h(public),
            "message": h(message),
            "signature": h(signature),
        },
        "refused": [
            {"what": what, "public": h(key), "signature": h(sig), "message": h(msg)}
            for what, key, sig, msg in refused
        ],
    }


def build() -> dict[str, Any]:
    return {
        "kdf.json": kdf_vectors(),
        "envelope.json": envelope_vectors(),
        "account.json": account_vectors(),
        "nodes.json": node_vectors(),
        "stream.json": stream_vectors(),
        "links.json": link_vectors(),
        "shares.json": share_vectors(),
        "tree_copy.json": tree_copy_vector(),
        "ed25519.json": ed25519_vectors(),
    }


def render(value: Any) -> str:
    return json.dumps(value, indent=2, ensure_ascii=False) + "\n"


def main() -> int:
    OUT.mkdir(parents=True, exist_ok=True)
    for name, value in build().items():
        (OUT / name).write_text(render(value), encoding="utf-8")
        print(f"wrote {OUT / name}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
