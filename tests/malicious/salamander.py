"""Invisible salamanders: one AES-GCM ciphertext and tag that two different keys both accept.

AES-GCM does not commit to its key (Dodis et al., CRYPTO 2018; Albertini et al., USENIX
Security 2022). Its tag is ``T = GHASH_H(A, C) xor E_K(J0)`` with ``H = E_K(0^128)`` and
``J0 = nonce || 0x00000001``, and GHASH is a polynomial in ``H`` over GF(2^128) whose
coefficients are the blocks of ``A``, then ``C``, then the length block::

    GHASH_H(X_1 .. X_m) = X_1 H^m  xor  X_2 H^(m-1)  xor ...  xor  X_m H

Fix every ciphertext block but one, ``C_j``; under each key the tag is then affine in
``C_j``, and asking the two tags to be equal is one linear equation::

    C_j (H1^e xor H2^e) = S1 xor E_K1(J0) xor S2 xor E_K2(J0)

where ``S_k`` is GHASH under ``H_k`` with ``C_j = 0`` and ``e`` counts the blocks from
``C_j`` to the end, the length block included. Solve it (one inversion in GF(2^128)) and
the ciphertext decrypts without error under both keys. :func:`collide` does this with the
free block last: under the first key the plaintext is the one asked for plus 16 bytes of
noise; under the second key it is noise, but noise that authenticates.

Coffre's envelopes and content headers carry a key commitment checked before decryption
(SECURITY.md A6); the tests show that it, and only it, stops such a ciphertext.
"""

from __future__ import annotations

from cryptography.hazmat.primitives.ciphers import Cipher, algorithms, modes

BLOCK = 16
_R = 0xE1 << 120
_ORDER_MINUS_2 = (1 << 128) - 2


def gf_mul(x: int, y: int) -> int:
    """Product in GCM's GF(2^128) (bit-reflected; NIST SP 800-38D, algorithm 1)."""
    z, v = 0, x
    for i in range(127, -1, -1):
        if (y >> i) & 1:
            z ^= v
        v = (v >> 1) ^ _R if v & 1 else v >> 1
    return z


def gf_pow(x: int, n: int) -> int:
    result = 1 << 127  # the field's one: the polynomial 1 is the most significant bit
    while n:
        if n & 1:
            result = gf_mul(result, x)
        x = gf_mul(x, x)
        n >>= 1
    return result


def gf_inv(x: int) -> int:
    if x == 0:
        raise ZeroDivisionError("0 has no inverse in GF(2^128)")
    return gf_pow(x, _ORDER_MINUS_2)


def _int(block: bytes) -> int:
    return int.from_bytes(block, "big")


def _bytes(value: int) -> bytes:
    return value.to_bytes(BLOCK, "big")


def aes_block(key: bytes, block: bytes) -> bytes:
    """One raw AES block encryption: GCM's building block, to compute H and E_K(J0)."""
    encryptor = Cipher(algorithms.AES(key), modes.ECB()).encryptor()  # noqa: S305 - one block
    return encryptor.update(block) + encryptor.finalize()


def _blocks(data: bytes) -> list[int]:
    padded = data + b"\x00" * (-len(data) % BLOCK)
    return [_int(padded[i : i + BLOCK]) for i in range(0, len(padded), BLOCK)]


def ghash(h: int, associated_data: bytes, ciphertext: bytes) -> int:
    length = (len(associated_data) * 8).to_bytes(8, "big") + (len(ciphertext) * 8).to_bytes(
        8, "big"
    )
    y = 0
    for x in [*_blocks(associated_data), *_blocks(ciphertext), _int(length)]:
        y = gf_mul(y ^ x, h)
    return y


def _counter(nonce: bytes, i: int) -> bytes:
    return nonce + i.to_bytes(4, "big")


def keystream(key: bytes, nonce: bytes, n_blocks: int) -> bytes:
    """GCM's CTR keystream for the plaintext: counters 2, 3, ..."""
    return b"".join(aes_block(key, _counter(nonce, 2 + i)) for i in range(n_blocks))


def collide(
    key1: bytes,
    key2: bytes,
    nonce: bytes,
    ad1: bytes,
    ad2: bytes,
    plaintext1: bytes,
) -> bytes:
    """``ciphertext || tag`` that AES-GCM accepts under ``(key1, ad1)`` and ``(key2, ad2)``.

    Under ``key1`` it decrypts to ``plaintext1`` (a whole number of blocks) followed by 16
    bytes fixed by the equation; under ``key2`` to whatever its keystream makes of that.
    """
    if len(nonce) != 12 or len(plaintext1) % BLOCK:
        raise ValueError("a 12-byte nonce and a whole number of plaintext blocks")
    if key1 == key2:
        raise ValueError("two different keys")
    n = len(plaintext1) // BLOCK + 1
    stream1 = keystream(key1, nonce, n - 1)
    prefix = bytes(a ^ b for a, b in zip(plaintext1, stream1, strict=True))
    h1, h2 = _int(aes_block(key1, b"\x00" * BLOCK)), _int(aes_block(key2, b"\x00" * BLOCK))
    j1, j2 = (_int(aes_block(k, _counter(nonce, 1))) for k in (key1, key2))
    zero_free = prefix + b"\x00" * BLOCK
    s1, s2 = ghash(h1, ad1, zero_free), ghash(h2, ad2, zero_free)
    e = 2  # the free block is the last ciphertext block: it and the length block follow
    free = gf_mul(s1 ^ j1 ^ s2 ^ j2, gf_inv(gf_pow(h1, e) ^ gf_pow(h2, e)))
    ciphertext = prefix + _bytes(free)
    tag = ghash(h1, ad1, ciphertext) ^ j1
    assert tag == ghash(h2, ad2, ciphertext) ^ j2
    return ciphertext + _bytes(tag)
