"""Time: an injectable clock and the calendar-day arithmetic the CRM runs on.

Timestamps are stored in UTC; "today" and day counts are calendar days in the
configured zone. Tests and simulations pass their own :class:`Clock`.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import UTC, date, datetime, time, timedelta
from typing import Protocol
from zoneinfo import ZoneInfo


class Clock(Protocol):
    """Something that tells the current time (timezone-aware, UTC)."""

    def now(self) -> datetime:
        """The current instant."""
        ...


class SystemClock:
    """The real wall clock."""

    def now(self) -> datetime:
        """The current instant in UTC."""
        return datetime.now(UTC)


@dataclass
class FixedClock:
    """A clock that stands still until moved: simulated time for tests and demos."""

    current: datetime = field(default_factory=lambda: datetime.now(UTC))

    def now(self) -> datetime:
        """The simulated instant."""
        return self.current

    def advance(self, delta: timedelta) -> None:
        """Move simulated time forward."""
        self.current = self.current + delta


def utc(value: datetime) -> datetime:
    """The same instant in UTC (naive values are taken as UTC)."""
    if value.tzinfo is None:
        return value.replace(tzinfo=UTC)
    return value.astimezone(UTC)


def local_date(instant: datetime, zone: ZoneInfo) -> date:
    """The calendar day an instant falls on in a zone."""
    return utc(instant).astimezone(zone).date()


def start_of_day(day: date, zone: ZoneInfo) -> datetime:
    """Midnight at the start of a local day, as a UTC instant."""
    return datetime.combine(day, time.min, tzinfo=zone).astimezone(UTC)


def end_of_day(day: date, zone: ZoneInfo) -> datetime:
    """Midnight at the end of a local day (exclusive bound), as a UTC instant."""
    return start_of_day(day + timedelta(days=1), zone)


def days_between(earlier: date, later: date) -> int:
    """Whole calendar days from one date to another."""
    return (later - earlier).days
