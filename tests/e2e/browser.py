"""What a person's browser does in an OAuth sign-in: follow /authorize, fill in the form, go back."""

from __future__ import annotations

import base64
import hashlib
import re
import secrets
from dataclasses import dataclass
from urllib.parse import parse_qs, urlencode, urlsplit

import httpx

REDIRECT_URI = "https://client.example.com/callback"


@dataclass
class Pkce:
    """A PKCE verifier and its S256 challenge."""

    verifier: str
    challenge: str

    @classmethod
    def make(cls) -> Pkce:
        """A fresh pair."""
        verifier = secrets.token_urlsafe(48)
        digest = hashlib.sha256(verifier.encode()).digest()
        return cls(verifier, base64.urlsafe_b64encode(digest).decode().rstrip("="))


def query_of(location: str) -> dict[str, str]:
    """The query parameters of a redirect target."""
    return {k: v[0] for k, v in parse_qs(urlsplit(location).query).items()}


def authorize_url(
    issuer: str,
    client_id: str,
    pkce: Pkce | None,
    *,
    redirect_uri: str | None = REDIRECT_URI,
    resource: str | None = None,
    scope: str | None = "leads:read leads:write",
    state: str = "st-123",
    method: str | None = "S256",
) -> str:
    """An /authorize URL as a client builds it."""
    params: dict[str, str] = {"response_type": "code", "client_id": client_id, "state": state}
    if redirect_uri is not None:
        params["redirect_uri"] = redirect_uri
    if pkce is not None:
        params["code_challenge"] = pkce.challenge
    if method is not None:
        params["code_challenge_method"] = method
    if resource is not None:
        params["resource"] = resource
    if scope is not None:
        params["scope"] = scope
    return f"{issuer}/authorize?{urlencode(params)}"


@dataclass
class SignInPage:
    """The sign-in form as served."""

    action: str
    request_id: str
    csrf: str
    html: str


async def open_sign_in(http: httpx.AsyncClient, url: str) -> SignInPage:
    """Follow /authorize to the sign-in page and read its form."""
    response = await http.get(url)
    assert response.status_code == 302, (response.status_code, response.text)
    location = response.headers["location"]
    assert "/oauth/signin?" in location, location
    page = await http.get(location)
    assert page.status_code == 200, page.text
    assert page.headers["x-frame-options"] == "DENY"
    action = re.search(r'<form method="post" action="([^"]+)"', page.text)
    request_id = re.search(r'name="request" value="([^"]+)"', page.text)
    csrf = re.search(r'name="csrf" value="([^"]+)"', page.text)
    assert action and request_id and csrf
    return SignInPage(action.group(1), request_id.group(1), csrf.group(1), page.text)


async def submit_sign_in(
    http: httpx.AsyncClient,
    page: SignInPage,
    *,
    email: str,
    password: str,
    allow_write: bool = True,
    decision: str = "allow",
    csrf: str | None = None,
    workspace: str | None = None,
) -> httpx.Response:
    """Post the form as the person would."""
    form = {
        "request": page.request_id,
        "csrf": page.csrf if csrf is None else csrf,
        "email": email,
        "password": password,
        "decision": decision,
    }
    if allow_write:
        form["allow_write"] = "1"
    if workspace:
        form["workspace"] = workspace
    return await http.post(page.action, data=form)


async def sign_in_for_code(
    http: httpx.AsyncClient, url: str, *, email: str, password: str, allow_write: bool = True
) -> dict[str, str]:
    """The whole browser leg: returns the redirect's query (code, state, iss)."""
    page = await open_sign_in(http, url)
    response = await submit_sign_in(http, page, email=email, password=password, allow_write=allow_write)
    assert response.status_code == 303, (response.status_code, response.text[:500])
    return query_of(response.headers["location"])


async def register(http: httpx.AsyncClient, issuer: str, **metadata: object) -> dict[str, object]:
    """Dynamic client registration (RFC 7591)."""
    body = {"client_name": "Test connector", "redirect_uris": [REDIRECT_URI], **metadata}
    response = await http.post(f"{issuer}/register", json=body)
    assert response.status_code == 201, response.text
    data: dict[str, object] = response.json()
    return data
