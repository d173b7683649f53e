"""HubSpot CRM v3 over an injected ``httpx.AsyncClient``: batch upsert of contacts by email, batch
update by HubSpot id.

Limits: every request goes through ``integrations.http.read_limited`` with a
total deadline of ``timeout_seconds`` (``LEAD_MCP_OUTBOUND_TIMEOUT_SECONDS``)
and a size cap. A request that misses its deadline is not retried: a silent
HubSpot fails the sync within the setting, with a message saying so.

Retries: a 429 waits for ``Retry-After`` (seconds or an HTTP date; capped at
``max_retry_after``), a 5xx or a failed connection backs off exponentially
(``backoff_base * 2**n``, capped at ``backoff_cap``); after ``max_attempts``
the call fails with an ExternalServiceError. Other 4xx answers are returned to
the caller, which decides (a 400 on a batch is split to find the bad record).

The private-app token is sent only in the Authorization header. It never
appears in a log line or an error message: messages are built from the status
and HubSpot's own ``message``, with the token masked should HubSpot echo it.
"""

from __future__ import annotations

import email.utils
import logging
import time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from typing import Any

import anyio
import httpx
from pydantic import SecretStr

from lead_mcp.errors import ExternalServiceError, SetupError
from lead_mcp.integrations.http import OutboundTimeout, OutboundUnreachable, read_limited

log = logging.getLogger(__name__)

MAX_BATCH = 100
UPSERT_PATH = "/crm/v3/objects/contacts/batch/upsert"
UPDATE_PATH = "/crm/v3/objects/contacts/batch/update"
PROPERTY_PATH = "/crm/v3/properties/contacts"
TIMEOUT_SETTING = "LEAD_MCP_OUTBOUND_TIMEOUT_SECONDS"


@dataclass
class Answer:
    """A final (non-retried) HubSpot answer."""

    status: int
    body: dict[str, Any]

    @property
    def message(self) -> str:
        """HubSpot's explanation, or the status."""
        text = self.body.get("message") if isinstance(self.body, dict) else None
        return str(text) if text else f"HTTP {self.status}"


@dataclass
class Counters:
    """Requests and retries made by one client."""

    requests: int = 0
    retries: int = 0
    waits: list[float] = field(default_factory=list)


class HubSpotClient:
    """The few HubSpot calls lead-mcp makes, with retries and a token that stays secret."""

    def __init__(
        self,
        http: httpx.AsyncClient,
        *,
        token: SecretStr | None,
        base_url: str,
        max_attempts: int = 5,
        backoff_base: float = 0.5,
        backoff_cap: float = 8.0,
        max_retry_after: float = 60.0,
        timeout_seconds: float | None = None,
        sleep: Callable[[float], Awaitable[None]] = anyio.sleep,
    ) -> None:
        if token is None or not token.get_secret_value().strip():
            raise SetupError(
                "LEAD_MCP_HUBSPOT_TOKEN is not set: create a HubSpot private app with the "
                "crm.objects.contacts.write scope and put its access token in LEAD_MCP_HUBSPOT_TOKEN"
            )
        self._http = http
        self._token = token
        self._base = base_url.rstrip("/")
        self.max_attempts = max_attempts
        self.backoff_base = backoff_base
        self.backoff_cap = backoff_cap
        self.max_retry_after = max_retry_after
        self.timeout_seconds = timeout_seconds
        self._sleep = sleep
        self.counters = Counters()

    def _mask(self, text: str) -> str:
        secret = self._token.get_secret_value()
        return text.replace(secret, "***") if secret else text

    def _retry_after(self, response: httpx.Response, attempt: int) -> float:
        raw = response.headers.get("Retry-After", "").strip()
        delay: float | None = None
        if raw:
            try:
                delay = float(raw)
            except ValueError:
                parsed = email.utils.parsedate_to_datetime(raw) if raw else None
                if parsed is not None:
                    delay = parsed.timestamp() - time.time()
        if delay is None:
            delay = self._backoff(attempt)
        return max(0.0, min(delay, self.max_retry_after))

    def _backoff(self, attempt: int) -> float:
        return float(min(self.backoff_cap, self.backoff_base * (2**attempt)))

    async def request(self, method: str, path: str, body: dict[str, Any] | None = None) -> Answer:
        """One call with retries on 429, 5xx and network errors; any other answer is returned."""
        url = self._base + path
        headers = {"Authorization": f"Bearer {self._token.get_secret_value()}", "Accept": "application/json"}
        last = ""
        for attempt in range(self.max_attempts):
            if attempt:
                self.counters.retries += 1
            self.counters.requests += 1
            try:
                response = await read_limited(
                    self._http,
                    method,
                    url,
                    service="HubSpot",
                    deadline=self.timeout_seconds,
                    setting=TIMEOUT_SETTING,
                    json=body,
                    headers=headers,
                )
            except OutboundUnreachable as exc:
                last = f"could not be reached ({type(exc.__cause__ or exc).__name__})"
                delay = self._backoff(attempt)
            except OutboundTimeout:
                limit = f"{self.timeout_seconds:g} s" if self.timeout_seconds else "its time limit"
                raise ExternalServiceError(
                    f"HubSpot did not answer {method} {path} within {limit} ({TIMEOUT_SETTING}); the sync "
                    "stopped there. Run sync_hubspot again later: contacts already pushed are not sent twice"
                ) from None
            else:
                if response.status_code == 429:
                    last = "kept answering 429 Too Many Requests"
                    delay = self._retry_after(response, attempt)
                elif response.status_code >= 500:
                    last = f"kept answering {response.status_code}"
                    delay = self._backoff(attempt)
                else:
                    return Answer(status=response.status_code, body=_json(response))
            if attempt + 1 < self.max_attempts:
                log.info("HubSpot %s %s: %s; retrying in %.2fs", method, path, last, delay)
                self.counters.waits.append(delay)
                await self._sleep(delay)
        raise ExternalServiceError(
            f"HubSpot {last} after {self.max_attempts} attempts; the contacts of this batch were not pushed. "
            "Run sync_hubspot again later: contacts already pushed are not sent twice"
        )

    def refusal(self, answer: Answer) -> ExternalServiceError:
        """An error for an answer that stops the whole sync (bad token, missing scope)."""
        if answer.status == 401:
            return ExternalServiceError(
                "HubSpot refused the token (401): check LEAD_MCP_HUBSPOT_TOKEN (a private-app access token)"
            )
        if answer.status == 403:
            return ExternalServiceError(
                "HubSpot denied access (403): give the private app the crm.objects.contacts.write scope "
                f"({self._mask(answer.message)})"
            )
        return ExternalServiceError(f"HubSpot answered {answer.status}: {self._mask(answer.message)}")

    def reason_text(self, text: str) -> str:
        """A message that may quote HubSpot, with the token masked."""
        return self._mask(text)

    def reason(self, answer: Answer) -> str:
        """HubSpot's message for a refused record, token masked."""
        return self._mask(f"HubSpot answered {answer.status}: {answer.message}")

    async def batch_upsert(self, inputs: list[dict[str, Any]]) -> Answer:
        """POST batch/upsert: up to 100 inputs ``{"id": email, "idProperty": "email", "properties": ...}``."""
        if len(inputs) > MAX_BATCH:
            raise ValueError(f"at most {MAX_BATCH} inputs per batch")
        return await self.request("POST", UPSERT_PATH, {"inputs": inputs})

    async def batch_update(self, inputs: list[dict[str, Any]]) -> Answer:
        """POST batch/update: up to 100 inputs ``{"id": hubspot id, "properties": ...}``.

        HubSpot answers 200 when every input was applied, 207 with ``errors`` (each naming its ids
        in ``context.ids``) when some were not.
        """
        if len(inputs) > MAX_BATCH:
            raise ValueError(f"at most {MAX_BATCH} inputs per batch")
        return await self.request("POST", UPDATE_PATH, {"inputs": inputs})

    async def ensure_text_property(self, name: str, label: str) -> tuple[bool, str | None]:
        """Make sure a custom contact property exists; (usable, why not)."""
        answer = await self.request("GET", f"{PROPERTY_PATH}/{name}")
        if answer.status == 200:
            return True, None
        if answer.status == 401:
            raise self.refusal(answer)
        if answer.status != 404:
            return False, self.reason(answer)
        created = await self.request(
            "POST",
            PROPERTY_PATH,
            {
                "name": name,
                "label": label,
                "type": "string",
                "fieldType": "text",
                "groupName": "contactinformation",
                "description": "Where lead-mcp captured this lead (manual, card_scan, import ...).",
            },
        )
        if created.status in (200, 201, 409):
            return True, None
        return False, self.reason(created)


def _json(response: httpx.Response) -> dict[str, Any]:
    try:
        data = response.json()
    except ValueError:
        return {"message": response.text[:300]}
    return data if isinstance(data, dict) else {"results": data}
