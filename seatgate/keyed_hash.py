"""Keyed hashes of secrets (cookie values, tokens, credentials).

seatgate never stores or logs a secret: it stores HMAC-SHA256(secret_key, kind + value),
truncated to 128 bits, which identifies the secret without revealing it and cannot be
brute-forced without the key.
"""

from __future__ import annotations

import hmac


class KeyedHasher:
    __slots__ = ("_key",)

    def __init__(self, key: bytes):
        if len(key) < 16:
            raise ValueError("the secret must be at least 16 bytes long")
        self._key = key

    def digest(self, kind: str, value: str | bytes) -> str:
        data = value.encode("utf-8", "surrogateescape") if isinstance(value, str) else value
        # hmac.digest is OpenSSL's one-shot HMAC: the same value as hmac.new(...).digest()
        # without building an HMAC object, which matters on the per-request path.
        mac = hmac.digest(self._key, kind.encode() + b"\0" + data, "sha256")
        return f"{kind}:{mac[:16].hex()}"
