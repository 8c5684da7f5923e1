"""Coffre's crypto core: bytes in, bytes out, no I/O.

The formats are specified in docs/crypto.md; each module draws its own layout:

- :mod:`.envelope`: the sealed envelope that carries every key and every name;
- :mod:`.account`: password to login secrets and key-encryption key; the master key;
- :mod:`.identity`: X25519 and Ed25519 identity keys, their signed public statement;
- :mod:`.nodes`: folder and file keys, names, versions, name tags;
- :mod:`.stream`: file content in fixed-size AES-256-GCM STREAM chunks.

Only :mod:`._primitives` imports the ``cryptography`` package.
"""
