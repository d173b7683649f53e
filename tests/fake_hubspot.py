"""A small fake of HubSpot's CRM v3 API for tests: batch upsert by email, batch update by id, properties.

It follows HubSpot's documented shapes: ``POST /crm/v3/objects/contacts/batch/upsert`` takes
``{"inputs": [{"id", "idProperty", "properties"}]}`` (at most 100) and answers 200 with
``{"status": "COMPLETE", "results": [{"id", "properties", "createdAt", "updatedAt", "archived", "new"}]}``;
``POST /crm/v3/objects/contacts/batch/update`` takes ``{"inputs": [{"id", "properties"}]}`` and
answers 200 when every input applied, or 207 with ``errors`` ``[{"status", "category", "message",
"context": {"ids": [...]}}]`` for the inputs it could not apply (an unknown id is OBJECT_NOT_FOUND,
an email another contact has is CONFLICT); errors are ``{"status": "error", "message", "category",
"correlationId"}``. Like HubSpot, ``lifecyclestage`` only moves forward: a backward value is
silently ignored (the answer shows the stage kept) unless the stage was cleared with ``""`` first.
It checks the bearer token, refuses invalid inputs for the whole batch with a 400 (as HubSpot
does), answers the next requests with scripted failures (429 with Retry-After, 502) when a test
cues them, and goes silent (reads requests, never answers) while ``silent`` is set. It runs under
uvicorn on a free loopback port, in a thread, and records every request it received.
"""

from __future__ import annotations

import asyncio
import re
import socket
import threading
import time
import uuid
from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import Any

import uvicorn
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse
from starlette.routing import Route

DEFAULT_PROPERTIES = {
    "email",
    "firstname",
    "lastname",
    "phone",
    "company",
    "jobtitle",
    "website",
    "lifecyclestage",
    "address",
}
LIFECYCLE_STAGES = {
    "subscriber",
    "lead",
    "marketingqualifiedlead",
    "salesqualifiedlead",
    "opportunity",
    "customer",
    "evangelist",
    "other",
}
# HubSpot's default order; "other" comes last, after evangelist.
LIFECYCLE_ORDER = [
    "subscriber",
    "lead",
    "marketingqualifiedlead",
    "salesqualifiedlead",
    "opportunity",
    "customer",
    "evangelist",
    "other",
]
EMAIL = re.compile(r"^[^@\s]+@[^@\s]+\.[a-z]{2,}$", re.IGNORECASE)


@dataclass
class Received:
    """One request as it reached the fake."""

    method: str
    path: str
    authorization: str | None
    body: Any
    at: float


@dataclass
class FakeHubSpot:
    """State of the fake portal: its contacts, custom properties, cues and the requests seen."""

    token: str = "pat-na1-test-token-0000"
    contacts: dict[str, dict[str, Any]] = field(default_factory=dict)
    properties: set[str] = field(default_factory=lambda: set(DEFAULT_PROPERTIES))
    may_create_properties: bool = True
    blocked_emails: set[str] = field(default_factory=set)
    cues: list[tuple[int, dict[str, str]]] = field(default_factory=list)
    requests: list[Received] = field(default_factory=list)
    silent: bool = False
    url: str = ""
    _next_id: int = 51

    def cue(self, status: int, **headers: str) -> None:
        """Answer the next request with this status (and headers) instead of serving it."""
        self.cues.append((status, headers))

    def upserts(self) -> list[Received]:
        """The batch upsert requests that were served or refused."""
        return [r for r in self.requests if r.path.endswith("/batch/upsert")]

    def updates(self) -> list[Received]:
        """The batch update requests that were served or refused."""
        return [r for r in self.requests if r.path.endswith("/batch/update")]

    def by_id(self, hubspot_id: str) -> dict[str, Any] | None:
        """The stored contact with this HubSpot id."""
        return next((c for c in self.contacts.values() if c["id"] == hubspot_id), None)

    @staticmethod
    def apply(existing: dict[str, Any], properties: dict[str, Any]) -> None:
        """Store new property values as HubSpot does: a lifecycle stage never moves backward."""
        for name, value in properties.items():
            if name == "lifecyclestage" and value:
                current = existing["properties"].get("lifecyclestage")
                if current and LIFECYCLE_ORDER.index(value) < LIFECYCLE_ORDER.index(current):
                    continue  # silently kept, as HubSpot does; clear it with "" first
            existing["properties"][name] = value

    def result(self, existing: dict[str, Any], now: str, **extra: Any) -> dict[str, Any]:
        return {
            "id": existing["id"],
            "properties": {**existing["properties"], "hs_object_id": existing["id"]},
            "createdAt": existing["createdAt"],
            "updatedAt": now,
            "archived": False,
            **extra,
        }

    @staticmethod
    def error(status: int, message: str, category: str) -> JSONResponse:
        return JSONResponse(
            {"status": "error", "message": message, "category": category, "correlationId": str(uuid.uuid4())},
            status_code=status,
        )

    async def _record(self, request: Request) -> Received:
        raw = await request.body()
        body = None
        if raw:
            import json

            body = json.loads(raw)
        seen = Received(
            request.method, request.url.path, request.headers.get("authorization"), body, time.monotonic()
        )
        self.requests.append(seen)
        return seen

    async def _wait_while_silent(self) -> None:
        while self.silent:  # reads the request, never answers (until the test ends)
            await asyncio.sleep(0.02)

    def _check_properties(self, props: dict[str, Any]) -> JSONResponse | None:
        unknown = sorted(set(props) - self.properties)
        if unknown:
            return self.error(400, f'Property "{unknown[0]}" does not exist', "VALIDATION_ERROR")
        stage = props.get("lifecyclestage")
        if stage and stage not in LIFECYCLE_STAGES:
            return self.error(400, f"{stage} is not a valid lifecycle stage", "VALIDATION_ERROR")
        return None

    def _gate(self, seen: Received) -> JSONResponse | None:
        if seen.authorization != f"Bearer {self.token}":
            return self.error(
                401,
                "Authentication credentials not found. This API supports OAuth 2.0 authentication.",
                "INVALID_AUTHENTICATION",
            )
        if self.cues:
            status, headers = self.cues.pop(0)
            if status == 429:
                response = self.error(429, "You have reached your secondly limit.", "RATE_LIMITS")
            else:
                response = JSONResponse({"status": "error", "message": "Bad gateway"}, status_code=status)
            response.headers.update(headers)
            return response
        return None

    async def batch_upsert(self, request: Request) -> JSONResponse:
        seen = await self._record(request)
        await self._wait_while_silent()
        refused = self._gate(seen)
        if refused is not None:
            return refused
        inputs = (seen.body or {}).get("inputs")
        if not isinstance(inputs, list) or not inputs:
            return self.error(400, "Invalid input JSON: inputs is required", "VALIDATION_ERROR")
        if len(inputs) > 100:
            return self.error(
                400, f"Batch input of {len(inputs)} items exceeds the limit of 100", "VALIDATION_ERROR"
            )
        emails = set()
        for item in inputs:
            props = item.get("properties") or {}
            email = str(item.get("id", "")).lower()
            if item.get("idProperty") != "email" or email != str(props.get("email", "")).lower():
                return self.error(400, "id must be the email when idProperty is email", "VALIDATION_ERROR")
            if email in emails:
                return self.error(400, f"Duplicate id {email} in batch", "VALIDATION_ERROR")
            emails.add(email)
            if not EMAIL.match(email) or email in self.blocked_emails:
                return self.error(
                    400,
                    f'Property values were not valid: [{{"isValid":false,"message":"Email address {email} is '
                    f'invalid","error":"INVALID_EMAIL","name":"email"}}]',
                    "VALIDATION_ERROR",
                )
            invalid = self._check_properties(props)
            if invalid is not None:
                return invalid
        now = time.strftime("%Y-%m-%dT%H:%M:%S.000Z", time.gmtime())
        results = []
        for item in inputs:
            email = item["id"].lower()
            existing = self.contacts.get(email)
            new = existing is None
            if new:
                existing = {"id": str(self._next_id), "createdAt": now, "properties": {}}
                self._next_id += 1
                self.contacts[email] = existing
            self.apply(existing, item["properties"])
            existing["updatedAt"] = now
            results.append(self.result(existing, now, new=new))
        return JSONResponse(
            {"status": "COMPLETE", "results": results, "startedAt": now, "completedAt": now}, status_code=200
        )

    async def batch_update(self, request: Request) -> JSONResponse:
        seen = await self._record(request)
        await self._wait_while_silent()
        refused = self._gate(seen)
        if refused is not None:
            return refused
        inputs = (seen.body or {}).get("inputs")
        if not isinstance(inputs, list) or not inputs:
            return self.error(400, "Invalid input JSON: inputs is required", "VALIDATION_ERROR")
        if len(inputs) > 100:
            return self.error(
                400, f"Batch input of {len(inputs)} items exceeds the limit of 100", "VALIDATION_ERROR"
            )
        for item in inputs:
            if not str(item.get("id", "")).isdigit() or not isinstance(item.get("properties"), dict):
                return self.error(400, "Each input needs a numeric id and properties", "VALIDATION_ERROR")
            invalid = self._check_properties(item["properties"])
            if invalid is not None:
                return invalid
            email = str(item["properties"].get("email", "")).lower()
            if email and (not EMAIL.match(email) or email in self.blocked_emails):
                return self.error(
                    400,
                    f'Property values were not valid: [{{"isValid":false,"message":"Email address {email} is '
                    f'invalid","error":"INVALID_EMAIL","name":"email"}}]',
                    "VALIDATION_ERROR",
                )
        now = time.strftime("%Y-%m-%dT%H:%M:%S.000Z", time.gmtime())
        results, errors = [], []
        for item in inputs:
            hubspot_id = str(item["id"])
            existing = self.by_id(hubspot_id)
            if existing is None:
                errors.append(
                    {
                        "status": "error",
                        "category": "OBJECT_NOT_FOUND",
                        "message": "Object not found.  objectId are usually numeric.",
                        "context": {"ids": [hubspot_id]},
                    }
                )
                continue
            old_email = str(existing["properties"].get("email", "")).lower()
            email = str(item["properties"].get("email", old_email)).lower()
            owner = self.contacts.get(email)
            if owner is not None and owner is not existing:
                errors.append(
                    {
                        "status": "error",
                        "category": "CONFLICT",
                        "message": f"A contact with the email '{email}' already exists. "
                        f"Existing ID: {owner['id']}",
                        "context": {"ids": [hubspot_id]},
                    }
                )
                continue
            self.apply(existing, item["properties"])
            existing["updatedAt"] = now
            if email != old_email:
                del self.contacts[old_email]
                self.contacts[email] = existing
            results.append(self.result(existing, now))
        body: dict[str, Any] = {
            "status": "COMPLETE",
            "results": results,
            "startedAt": now,
            "completedAt": now,
        }
        if errors:
            body.update(errors=errors, numErrors=len(errors))
        return JSONResponse(body, status_code=207 if errors else 200)

    async def read_property(self, request: Request) -> JSONResponse:
        seen = await self._record(request)
        await self._wait_while_silent()
        refused = self._gate(seen)
        if refused is not None:
            return refused
        name = request.path_params["name"]
        if name not in self.properties:
            return self.error(404, f"Unable to find property {name}", "OBJECT_NOT_FOUND")
        return JSONResponse(
            {"name": name, "type": "string", "fieldType": "text", "groupName": "contactinformation"}
        )

    async def create_property(self, request: Request) -> JSONResponse:
        seen = await self._record(request)
        refused = self._gate(seen)
        if refused is not None:
            return refused
        if not self.may_create_properties:
            return self.error(
                403,
                "This app hasn't been granted all required scopes: crm.schemas.contacts.write",
                "MISSING_SCOPES",
            )
        body = seen.body or {}
        for required in ("name", "label", "type", "fieldType", "groupName"):
            if not body.get(required):
                return self.error(400, f"{required} is required", "VALIDATION_ERROR")
        if body["name"] in self.properties:
            return self.error(409, f"Property {body['name']} already exists", "OBJECT_ALREADY_EXISTS")
        self.properties.add(body["name"])
        return JSONResponse(body, status_code=201)

    def app(self) -> Starlette:
        return Starlette(
            routes=[
                Route("/crm/v3/objects/contacts/batch/upsert", self.batch_upsert, methods=["POST"]),
                Route("/crm/v3/objects/contacts/batch/update", self.batch_update, methods=["POST"]),
                Route("/crm/v3/properties/contacts/{name}", self.read_property, methods=["GET"]),
                Route("/crm/v3/properties/contacts", self.create_property, methods=["POST"]),
            ]
        )


def serve(fake: FakeHubSpot) -> Iterator[FakeHubSpot]:
    """Run the fake under uvicorn on a free loopback port until the generator is closed."""
    sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    sock.bind(("127.0.0.1", 0))
    sock.listen(64)  # connections queue from now on, before uvicorn accepts them
    fake.url = f"http://127.0.0.1:{sock.getsockname()[1]}"
    server = uvicorn.Server(uvicorn.Config(fake.app(), log_level="warning", lifespan="off"))
    thread = threading.Thread(target=lambda: asyncio.run(server.serve(sockets=[sock])), daemon=True)
    thread.start()
    try:
        yield fake
    finally:
        fake.silent = False  # let a request held by a silent fake finish, so uvicorn can stop
        server.should_exit = True
        thread.join(timeout=10)
        sock.close()
