"""Settings: the one reader of the environment (prefix ``LEAD_MCP_``).

Every setting is documented in the README's settings table (a test checks it).
A bad value stops the program at start with one line naming the variable and
what is allowed (see :func:`describe_settings_error`).
"""

from __future__ import annotations

import ipaddress
import os
from enum import StrEnum
from functools import cached_property
from pathlib import Path
from typing import Annotated
from urllib.parse import urlsplit
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

import phonenumbers
import platformdirs
from pydantic import Field, SecretStr, ValidationError, field_validator, model_validator
from pydantic_settings import BaseSettings, NoDecode, SettingsConfigDict

ENV_PREFIX = "LEAD_MCP_"


class OcrEngineName(StrEnum):
    """Which OCR engine reads business cards."""

    AUTO = "auto"
    TESSERACT = "tesseract"
    EASYOCR = "easyocr"


class HttpResponses(StrEnum):
    """How `lead-mcp serve` answers a tool call over streamable HTTP."""

    AUTO = "auto"
    JSON = "json"
    SSE = "sse"


class AuthMode(StrEnum):
    """How HTTP clients authenticate."""

    NONE = "none"
    BUILTIN = "builtin"
    JWT = "jwt"


def default_data_dir() -> Path:
    """The per-user data folder where the embedded SQLite store lives."""
    return Path(platformdirs.user_data_dir("lead-mcp", appauthor=False))


def default_database_url() -> str:
    """A SQLite file in the user's data folder."""
    return f"sqlite+aiosqlite:///{default_data_dir() / 'lead-mcp.db'}"


def _system_timezone() -> str:
    """The machine's IANA zone name when it can be told, else UTC."""
    tz = os.environ.get("TZ", "").lstrip(":")
    if tz:
        try:
            ZoneInfo(tz)
            return tz
        except (ZoneInfoNotFoundError, ValueError):
            pass
    localtime = Path("/etc/localtime")
    try:
        target = str(localtime.resolve())
    except OSError:
        return "UTC"
    marker = "zoneinfo/"
    if marker in target:
        name = target.split(marker, 1)[1]
        try:
            ZoneInfo(name)
            return name
        except (ZoneInfoNotFoundError, ValueError):
            return "UTC"
    return "UTC"


def _default_scan_roots() -> list[Path]:
    home = Path.home()
    return [p for p in (home / "Downloads", home / "Desktop", home / "Pictures") if p.is_dir()]


def _is_loopback_host(host: str) -> bool:
    if host in {"localhost", "localhost.localdomain"}:
        return True
    try:
        return ipaddress.ip_address(host.strip("[]")).is_loopback
    except ValueError:
        return False


class Settings(BaseSettings):
    """Configuration of one lead-mcp process."""

    # An empty variable means "not set" (desktop bundles pass optional fields through as empty strings).
    model_config = SettingsConfigDict(
        env_prefix=ENV_PREFIX, extra="ignore", frozen=True, env_ignore_empty=True
    )

    database_url: str = Field(
        default_factory=default_database_url,
        description="SQLAlchemy URL of the store: sqlite+aiosqlite:///PATH or postgresql+asyncpg://USER@HOST/DB.",
    )
    db_pool_size: int = Field(5, ge=1, le=100, description="PostgreSQL connections kept open per process.")
    db_max_overflow: int = Field(10, ge=0, le=200, description="Extra PostgreSQL connections under load.")
    public_base_url: str = Field(
        "http://127.0.0.1:8765", description="Base URL that card pages, QR codes and links are built on."
    )
    host: str = Field("127.0.0.1", description="Address `lead-mcp serve` binds to.")
    http_responses: HttpResponses = Field(
        HttpResponses.AUTO,
        description="How /mcp answers: auto (an event stream for a request that asks for progress "
        "notifications with a progressToken, as long calls such as scans and imports send them; one "
        "JSON body for every other request), sse (always an event stream) or json (always one JSON body, "
        "no progress).",
    )
    port: int = Field(8765, ge=1, le=65535, description="Port `lead-mcp serve` listens on.")
    timezone: str = Field(
        default_factory=_system_timezone,
        description="IANA time zone that decides what 'today' is (default: this machine's).",
    )
    default_followup_days: int = Field(
        0, ge=0, le=365, description="Days until a new lead's first follow-up is due (0: today)."
    )
    default_region: str = Field(
        "US", description="Two-letter region used to read phone numbers written without a country code."
    )
    outbound_timeout_seconds: float = Field(
        15.0, ge=1, le=300, description="Deadline for each call to an outside service (HubSpot, image URLs)."
    )
    hubspot_token: SecretStr | None = Field(None, description="HubSpot private-app token for sync_hubspot.")
    hubspot_base_url: str = Field("https://api.hubapi.com", description="HubSpot API base URL.")
    hubspot_source_property: str = Field(
        "lead_mcp_source",
        description="HubSpot contact property that receives the lead source (created on first sync if "
        "missing and the token may); empty to not push the source.",
        pattern=r"^[a-z0-9_]{0,100}$",
    )
    import_max_bytes: int = Field(
        32 * 1024 * 1024,
        ge=1024,
        le=2 * 1024**3,
        description="Largest file or text import_contacts and `lead-mcp import` accept, in bytes.",
    )
    scan_roots: Annotated[list[Path], NoDecode] = Field(
        default_factory=_default_scan_roots,
        description="Folders scan_card and import_contacts may read files from, "
        "separated by the OS path separator.",
    )
    ocr_engine: OcrEngineName = Field(
        OcrEngineName.AUTO, description="OCR engine: auto, tesseract or easyocr."
    )
    tessdata_dir: Path | None = Field(None, description="Folder holding Tesseract's Latin.traineddata.")
    ocr_workers: int = Field(
        0, ge=0, le=64, description="OCR worker threads (0: one per CPU core this process may use)."
    )
    scan_max_bytes: int = Field(
        15_000_000, ge=10_000, le=200_000_000, description="Largest card image accepted, in bytes."
    )
    scan_max_pixels: int = Field(
        40_000_000,
        ge=10_000,
        le=400_000_000,
        description="Largest card image accepted, in pixels (width x height); "
        "bigger is refused as a decompression bomb.",
    )
    scan_url_timeout: float = Field(
        15.0, gt=0, le=120, description="Seconds an image_url fetch may take, redirects included."
    )
    url_allowed_networks: Annotated[list[ipaddress.IPv4Network | ipaddress.IPv6Network], NoDecode] = Field(
        default_factory=list,
        description="Non-public networks image_url may fetch from (comma-separated CIDRs, "
        "e.g. 192.168.1.0/24 "
        "for a home NAS); by default loopback, private, link-local and reserved addresses are refused.",
    )
    scan_link_hours: int = Field(
        24, ge=1, le=24 * 30, description="Hours a phone scan link (get_scan_link) stays valid."
    )
    scan_upload_max_files: int = Field(
        10, ge=1, le=100, description="Photos one upload from the phone scan page may carry."
    )
    auth: AuthMode = Field(AuthMode.NONE, description="HTTP auth: none (loopback only), builtin or jwt.")
    jwt_issuer: str | None = Field(None, description="Expected `iss` of JWTs (auth=jwt).")
    jwt_jwks_url: str | None = Field(None, description="JWKS URL of the identity provider (auth=jwt).")
    jwt_audience: str | None = Field(
        None,
        description="Expected `aud` of JWTs (auth=jwt); default: this server's MCP URL "
        "(public base URL + /mcp).",
    )
    jwt_email_claim: str = Field(
        "email",
        description="JWT claim matched to a seat's email the first time a subject signs in (auth=jwt).",
        min_length=1,
        max_length=100,
    )
    jwt_allow_unverified_email: bool = Field(
        False,
        description="Bind a JWT subject to a seat by an email the token does not mark verified "
        "(no email_verified claim: providers that verify every address but omit the claim, such as "
        "Microsoft Entra ID); email_verified=false never binds (auth=jwt).",
    )
    read_only: bool = Field(
        False,
        description="Expose only the read tools (readOnlyHint) over MCP, "
        "for connectors trusted to read only.",
    )
    access_token_ttl: int = Field(
        3600, ge=60, le=86_400, description="Seconds an OAuth access token lives (auth=builtin)."
    )
    refresh_token_ttl: int = Field(
        30 * 86_400,
        ge=3600,
        le=365 * 86_400,
        description="Seconds a refresh token lives; every use replaces it with a new one (auth=builtin).",
    )
    log_level: str = Field("INFO", description="Logging level: DEBUG, INFO, WARNING or ERROR.")
    deleted_retention_days: int = Field(
        30,
        ge=1,
        le=365,
        description="Days a deleted contact can be brought back with restore_contact before it is purged.",
    )
    calendar_feed_days: int = Field(
        60, ge=1, le=365, description="How many days ahead the private calendar feed lists due follow-ups."
    )
    request_state_keys: SecretStr | None = Field(
        None,
        description="Comma-separated secrets (32+ characters each) sealing the state of a question asked "
        "mid-call (delete confirmation); give every replica the same ones. Unset: a key per process.",
    )
    card_consent_text: str = Field(
        "I agree that {owner} may store the details I send here and contact me about my message. "
        "I can ask for them to be deleted at any time.",
        min_length=10,
        max_length=1000,
        description="Wording of the consent box on the card page's lead form ({owner}: the card's name).",
    )
    card_footer: bool = Field(
        True, description="Show the small 'Digital card made with lead-mcp' line at the foot of card pages."
    )
    form_secret: SecretStr | None = Field(
        None,
        description="Key that signs card form tokens and hashes visitor IPs for rate limiting "
        "(default: a random key generated once and kept in the database, shared by replicas).",
    )
    card_form_min_seconds: float = Field(
        2.0, ge=0, le=2, description="Seconds a card form must be open before it is accepted (bots are fast)."
    )
    card_form_max_age_hours: int = Field(
        12, ge=1, le=168, description="Hours a card page's form stays valid before it must be reloaded."
    )
    card_form_rate_limit: int = Field(
        20, ge=1, le=10_000, description="Card form posts accepted per IP address (IPv6: per /64) per window."
    )
    card_form_rate_window_seconds: int = Field(
        600, ge=10, le=86_400, description="Length of the card form rate-limit window, in seconds."
    )
    card_form_max_bytes: int = Field(
        16_384, ge=1024, le=1_048_576, description="Largest card form post, in bytes."
    )

    @field_validator("card_consent_text")
    @classmethod
    def _check_consent_text(cls, value: str) -> str:
        try:
            value.format(owner="x")
        except (KeyError, IndexError, ValueError):
            raise ValueError("may hold {owner} and no other {name}; write {{ and }} for braces") from None
        return value

    @field_validator("scan_roots", mode="before")
    @classmethod
    def _split_roots(cls, value: object) -> object:
        if isinstance(value, str):
            return [Path(p).expanduser() for p in value.split(os.pathsep) if p.strip()]
        return value

    @field_validator("url_allowed_networks", mode="before")
    @classmethod
    def _split_networks(cls, value: object) -> object:
        if isinstance(value, str):
            return [part.strip() for part in value.split(",") if part.strip()]
        return value

    @field_validator("database_url")
    @classmethod
    def _check_database_url(cls, value: str) -> str:
        if value.startswith(("sqlite+aiosqlite://", "postgresql+asyncpg://")):
            return value
        if value.startswith(("postgresql://", "postgres://")):
            return "postgresql+asyncpg://" + value.split("://", 1)[1]
        if value.startswith("sqlite://"):
            return "sqlite+aiosqlite://" + value.split("://", 1)[1]
        raise ValueError("must start with sqlite+aiosqlite:/// or postgresql+asyncpg://")

    @field_validator("public_base_url", "hubspot_base_url")
    @classmethod
    def _check_http_url(cls, value: str) -> str:
        parts = urlsplit(value)
        if parts.scheme not in {"http", "https"} or not parts.netloc:
            raise ValueError("must be an http:// or https:// URL such as https://cards.example.com")
        return value.rstrip("/")

    @field_validator("timezone")
    @classmethod
    def _check_timezone(cls, value: str) -> str:
        try:
            ZoneInfo(value)
        except (ZoneInfoNotFoundError, ValueError):
            raise ValueError("must be an IANA time zone such as Europe/Berlin or America/New_York") from None
        return value

    @field_validator("default_region")
    @classmethod
    def _check_region(cls, value: str) -> str:
        region = value.upper()
        if region not in phonenumbers.SUPPORTED_REGIONS:
            raise ValueError("must be a two-letter region code such as US, DE or GB")
        return region

    @field_validator("request_state_keys")
    @classmethod
    def _check_request_state_keys(cls, value: SecretStr | None) -> SecretStr | None:
        if value is not None:
            keys = [k.strip() for k in value.get_secret_value().split(",") if k.strip()]
            if not keys or any(len(k) < 32 for k in keys):
                raise ValueError("must be one or more comma-separated secrets of at least 32 characters each")
        return value

    @property
    def request_state_key_list(self) -> list[str]:
        """The request-state secrets, newest (sealing) first."""
        if self.request_state_keys is None:
            return []
        return [k.strip() for k in self.request_state_keys.get_secret_value().split(",") if k.strip()]

    @field_validator("log_level")
    @classmethod
    def _check_log_level(cls, value: str) -> str:
        level = value.upper()
        if level not in {"DEBUG", "INFO", "WARNING", "ERROR", "CRITICAL"}:
            raise ValueError("must be one of DEBUG, INFO, WARNING, ERROR")
        return level

    @model_validator(mode="after")
    def _check_auth(self) -> Settings:
        if self.auth is AuthMode.JWT and not (self.jwt_issuer and self.jwt_jwks_url):
            raise ValueError("LEAD_MCP_AUTH=jwt needs LEAD_MCP_JWT_ISSUER and LEAD_MCP_JWT_JWKS_URL set")
        if self.jwt_jwks_url is not None:
            jwks = urlsplit(self.jwt_jwks_url)
            if not jwks.hostname or not (
                jwks.scheme == "https" or (jwks.scheme == "http" and _is_loopback_host(jwks.hostname))
            ):
                raise ValueError(
                    "LEAD_MCP_JWT_JWKS_URL must be an https:// URL (plain http only on loopback): "
                    "the keys that sign every token must not be open to tampering on the way"
                )
        if self.auth is AuthMode.BUILTIN:
            parts = urlsplit(self.public_base_url)
            if parts.scheme != "https" and not _is_loopback_host(parts.hostname or ""):
                raise ValueError(
                    "LEAD_MCP_AUTH=builtin needs an https:// LEAD_MCP_PUBLIC_BASE_URL "
                    "(plain http is allowed only on loopback, for development)"
                )
        return self

    @cached_property
    def zone(self) -> ZoneInfo:
        """The configured time zone."""
        return ZoneInfo(self.timezone)

    @property
    def is_sqlite(self) -> bool:
        """True when the store is the embedded SQLite file."""
        return self.database_url.startswith("sqlite")

    @property
    def mcp_url(self) -> str:
        """The public URL of the MCP endpoint: the resource tokens are issued for (RFC 8707/9728)."""
        return f"{self.public_base_url}/mcp"

    @property
    def path_prefix(self) -> str:
        """The path the public base URL adds after the host: '' or e.g. '/crm' behind a proxy."""
        return urlsplit(self.public_base_url).path.rstrip("/")

    @property
    def public_base_is_loopback(self) -> bool:
        """True when links built on the public base URL only work on this machine."""
        return _is_loopback_host(urlsplit(self.public_base_url).hostname or "")

    def check_bind(self, host: str) -> None:
        """Refuse to serve without auth on a non-loopback address.

        Binding to loopback is not enough on its own (a tunnel or proxy on this machine forwards
        to it): without auth, the app also answers /mcp only to requests made on this machine
        (web/app.py ``LocalOnly``), while the card pages may be public.
        """
        if self.auth is AuthMode.NONE and not _is_loopback_host(host):
            raise ValueError(
                f"LEAD_MCP_AUTH: 'none' is only allowed when binding to loopback, not {host}; "
                "set LEAD_MCP_AUTH=builtin or jwt, or bind to 127.0.0.1"
            )


def describe_settings_error(error: ValidationError) -> str:
    """One line naming the variable and what is allowed."""
    parts = []
    for item in error.errors():
        field = ".".join(str(p) for p in item["loc"]) if item["loc"] else ""
        message = item["msg"].removeprefix("Value error, ")
        if field:
            raw = item.get("input")
            shown = f" (got {raw!r})" if isinstance(raw, (str, int, float)) else ""
            parts.append(f"{ENV_PREFIX}{field.upper()}: {message}{shown}")
        else:
            parts.append(message)
    return "invalid setting: " + "; ".join(parts)


def load_settings(**overrides: object) -> Settings:
    """Build the settings from the environment, with explicit overrides (tests, CLI flags)."""
    return Settings(**overrides)  # type: ignore[arg-type]
