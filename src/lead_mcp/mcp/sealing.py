"""Sealing of multi-round-trip ``requestState`` under a key every replica shares.

The SDK's default key is random per process, so the second round of an
elicitation that reaches another replica would be refused. Our key lives in the
database (``server_secrets``), made by whichever replica starts first, and is
loaded when the store opens.
"""

from __future__ import annotations

from mcp.server.mcpserver import RequestStateSecurity
from mcp.server.request_state import AESGCMRequestStateCodec, InvalidRequestState


class SharedKeyCodec:
    """AES-256-GCM sealing (the SDK's codec) under a key supplied once the store is open."""

    def __init__(self) -> None:
        self._codec: AESGCMRequestStateCodec | None = None
        self._key = ""

    def load(self, key: str) -> None:
        """Use this key from now on (a no-op when it is already the key)."""
        if key and key != self._key:
            self._codec = AESGCMRequestStateCodec([key])
            self._key = key

    def seal(self, payload: bytes) -> str:
        """Seal with the shared key."""
        if self._codec is None:
            raise RuntimeError("request-state key not loaded: the store is not open yet")
        return self._codec.seal(payload)

    def unseal(self, token: str) -> bytes:
        """Open a token any replica sealed."""
        if self._codec is None:
            raise InvalidRequestState("key not loaded")
        return self._codec.unseal(token)


def shared_request_state(codec: SharedKeyCodec) -> RequestStateSecurity:
    """The request-state policy of lead-mcp servers: the shared key, the SDK's other defaults."""
    return RequestStateSecurity(codec=codec)
