"""iCalendar text: escaping and folding by RFC 5545's rules."""

from datetime import UTC, date, datetime

from lead_mcp.services import ics


def test_escape_text_escapes_backslash_semicolon_comma_and_newlines():
    assert ics.escape_text("a\\b;c,d\r\ne\nf") == "a\\\\b\\;c\\,d\\ne\\nf"


def test_fold_keeps_every_line_within_75_octets_without_splitting_characters():
    line = "DESCRIPTION:" + "Grüße aus München – 東京 " * 20
    folded = ics.fold(line)
    physical = folded.split("\r\n")
    assert len(physical) > 1
    assert all(len(p.encode("utf-8")) <= 75 for p in physical)
    assert all(p.startswith(" ") for p in physical[1:])
    assert "".join([physical[0], *(p[1:] for p in physical[1:])]) == line


def test_short_lines_are_not_folded():
    assert ics.fold("SUMMARY:Hi") == "SUMMARY:Hi"


def test_calendar_has_crlf_lines_and_timed_and_all_day_events():
    stamp = datetime(2026, 3, 10, 15, 0, tzinfo=UTC)
    text = ics.calendar(
        [
            ics.Event(uid="a@x", start=stamp, end=stamp, summary="Timed", description="d", alarm=True),
            ics.Event(
                uid="b@x", start=date(2026, 3, 10), end=date(2026, 3, 11), summary="All day", description="d"
            ),
        ],
        name="Feed",
        stamp=stamp,
    )
    assert text.endswith("END:VCALENDAR\r\n")
    assert "\n" not in text.replace("\r\n", "")
    assert "DTSTART:20260310T150000Z\r\n" in text
    assert "DTSTART;VALUE=DATE:20260310\r\nDTEND;VALUE=DATE:20260311\r\n" in text
    assert "BEGIN:VALARM\r\nACTION:DISPLAY\r\n" in text
