"""The errors lead-mcp raises on purpose.

Every message says what was wrong and what to do next, because the reader is
usually a model that will act on it::

    LeadError                  anything raised on purpose; safe to show to the caller
    ├── InvalidInput           an argument is wrong (names the field and the fix)
    ├── NotFound               no such id in this workspace (says which tool finds one)
    ├── Conflict               the change clashes with stored data (duplicate key, stale state)
    ├── ConfirmationRequired   a destructive call needs the user's explicit yes
    ├── PermissionDenied       the caller's scopes or role do not allow this
    ├── ExternalServiceError   an outside service (HubSpot, a URL) failed or refused
    └── SetupError             something is missing on this machine (OCR model, ...)

Anything else that escapes a service is a bug: the MCP layer logs it and the
client sees a generic failure, never a traceback.
"""

from __future__ import annotations


class LeadError(Exception):
    """Base of the errors raised on purpose; the message is meant for the caller."""

    def __init__(self, message: str) -> None:
        super().__init__(message)
        self.message = message

    def __str__(self) -> str:
        return self.message


class InvalidInput(LeadError):
    """An argument is wrong; the message names the field and the fix."""

    def __init__(self, field: str, problem: str, fix: str | None = None) -> None:
        text = f"{field}: {problem}"
        if fix:
            text += f". {fix}"
        super().__init__(text)
        self.field = field


class NotFound(LeadError):
    """No such object in the caller's workspace."""


class Conflict(LeadError):
    """The change clashes with stored data."""


class ConfirmationRequired(LeadError):
    """A destructive call needs an explicit confirmation."""


class PermissionDenied(LeadError):
    """The caller may not do this."""


class ExternalServiceError(LeadError):
    """An outside service failed or refused."""


class SetupError(LeadError):
    """Something this machine needs is missing; the message says how to install it."""
