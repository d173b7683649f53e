"""iCalendar (RFC 5545) text: escaping, line folding and the few components a feed of reminders needs.

Pure functions with no database. Lines end in CRLF and are folded at 75
octets without splitting a UTF-8 character (RFC 5545 §3.1); TEXT values escape
backslash, semicolon, comma and newlines (§3.3.11). Times are written in UTC
(``...Z``), which every calendar app reads without a VTIMEZONE block.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from datetime import UTC, date, datetime

MAX_OCTETS = 75
CRLF = "\r\n"


def escape_text(value: str) -> str:
    """A TEXT property value: backslash, semicolon and comma escaped, line breaks as \\n."""
    text = value.replace("\r\n", "\n").replace("\r", "\n")
    text = text.replace("\\", "\\\\").replace(";", "\\;").replace(",", "\\,")
    return text.replace("\n", "\\n")


def fold(line: str) -> str:
    """A content line folded into chunks of at most 75 octets, continuation lines starting with a space."""
    encoded = line.encode("utf-8")
    if len(encoded) <= MAX_OCTETS:
        return line
    parts: list[str] = []
    limit = MAX_OCTETS
    current: list[str] = []
    size = 0
    for char in line:
        width = len(char.encode("utf-8"))
        if size + width > limit:
            parts.append("".join(current))
            current, size = [], 0
            limit = MAX_OCTETS - 1  # the leading space of a continuation line counts
        current.append(char)
        size += width
    parts.append("".join(current))
    return (CRLF + " ").join(parts)


def utc_stamp(value: datetime) -> str:
    """A DATE-TIME in UTC form, e.g. 20260310T150000Z."""
    return value.astimezone(UTC).strftime("%Y%m%dT%H%M%SZ")


def day_stamp(value: date) -> str:
    """A DATE, e.g. 20260310."""
    return value.strftime("%Y%m%d")


@dataclass(frozen=True)
class Event:
    """One VEVENT: timed (datetime start/end) or all-day (date start, end the next day)."""

    uid: str
    start: datetime | date
    end: datetime | date
    summary: str
    description: str
    url: str | None = None
    last_modified: datetime | None = None
    alarm: bool = False


def _when(name: str, value: datetime | date) -> str:
    if isinstance(value, datetime):
        return f"{name}:{utc_stamp(value)}"
    return f"{name};VALUE=DATE:{day_stamp(value)}"


def event_lines(event: Event, stamp: datetime) -> list[str]:
    """The content lines of one event (unfolded)."""
    lines = [
        "BEGIN:VEVENT",
        f"UID:{event.uid}",
        f"DTSTAMP:{utc_stamp(stamp)}",
        _when("DTSTART", event.start),
        _when("DTEND", event.end),
        f"SUMMARY:{escape_text(event.summary)}",
        f"DESCRIPTION:{escape_text(event.description)}",
        "STATUS:CONFIRMED",
        "TRANSP:TRANSPARENT",  # a reminder, not a meeting: it does not block the user's free time
    ]
    if event.url:
        lines.append(f"URL:{event.url}")
    if event.last_modified:
        lines.append(f"LAST-MODIFIED:{utc_stamp(event.last_modified)}")
    if event.alarm:
        lines += [
            "BEGIN:VALARM",
            "ACTION:DISPLAY",
            f"DESCRIPTION:{escape_text(event.summary)}",
            "TRIGGER:PT0S",
            "END:VALARM",
        ]
    lines.append("END:VEVENT")
    return lines


def calendar(events: Iterable[Event], *, name: str, stamp: datetime, refresh_minutes: int = 60) -> str:
    """A whole VCALENDAR of events, folded, CRLF line ends."""
    lines = [
        "BEGIN:VCALENDAR",
        "VERSION:2.0",
        "PRODID:-//lead-mcp//Follow-ups//EN",
        "CALSCALE:GREGORIAN",
        "METHOD:PUBLISH",
        f"X-WR-CALNAME:{escape_text(name)}",
        f"REFRESH-INTERVAL;VALUE=DURATION:PT{refresh_minutes}M",  # RFC 7986: how often to fetch again
        f"X-PUBLISHED-TTL:PT{refresh_minutes}M",  # the same hint as Outlook and Google read it
    ]
    for event in events:
        lines += event_lines(event, stamp)
    lines.append("END:VCALENDAR")
    return "".join(fold(line) + CRLF for line in lines)
