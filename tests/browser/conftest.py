"""The browser tests reuse the operations tests' stacks, TLS material and nginx set-up."""

from tests.ops.conftest import stacks, tls_cert

__all__ = ["stacks", "tls_cert"]
