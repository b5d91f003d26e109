"""Keyed hashes of secrets (cookie values, tokens, credentials).

seatgate never stores or logs a secret: it stores HMAC-SHA256(secret_key, kind + value),
truncated to 128 bits, which identifies the secret without revealing it and cannot be
brute-forced without the key.
"""

from __future__ import annotations

import hashlib

_BLOCK = 64  # SHA-256's block size, in bytes


class KeyedHasher:
    """HMAC-SHA256 (RFC 2104) with the key's inner and outer hash states computed once.

    Each digest then copies two prepared states instead of setting up an HMAC from the key:
    ``hmac.new``/``hmac.digest`` look the digest up in OpenSSL on every call, which costs
    several times the hashing itself in the proxy process, and this runs on every request.
    """

    __slots__ = ("_inner", "_outer")

    def __init__(self, key: bytes):
        if len(key) < 16:
            raise ValueError("the secret must be at least 16 bytes long")
        if len(key) > _BLOCK:
            key = hashlib.sha256(key).digest()
        key = key.ljust(_BLOCK, b"\0")
        self._inner = hashlib.sha256(bytes(b ^ 0x36 for b in key))
        self._outer = hashlib.sha256(bytes(b ^ 0x5C for b in key))

    def digest(self, kind: str, value: str | bytes) -> str:
        data = value.encode("utf-8", "surrogateescape") if isinstance(value, str) else value
        inner = self._inner.copy()
        inner.update(kind.encode() + b"\0" + data)
        outer = self._outer.copy()
        outer.update(inner.digest())
        return f"{kind}:{outer.digest()[:16].hex()}"
