"""`lead-mcp import` and `export` as real subprocesses: plain output in pipes, a progress bar on a TTY."""

from __future__ import annotations

import csv
import io
import os
import pty
import subprocess
import sys
from pathlib import Path

import pytest

from tests.exchange_support import DATA, ical_parse

pytestmark = pytest.mark.slow


def _env(database_url: str) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("LEAD_MCP_")}
    env.update(
        LEAD_MCP_DATABASE_URL=database_url, LEAD_MCP_TIMEZONE="Europe/Berlin", LEAD_MCP_LOG_LEVEL="WARNING"
    )
    return env


def _run(database_url: str, *args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "lead_mcp", *args],
        env=_env(database_url),
        capture_output=True,
        text=True,
        timeout=120,
    )


def test_cli_import_prints_counts_and_each_bad_record(database_url):
    done = _run(database_url, "import", str(DATA / "ragged.csv"))
    assert done.returncode == 1  # some records were not imported
    assert done.stdout.strip() == (
        "5 records read as csv: 4 created, 0 merged, 0 skipped, 1 not imported (were saved through record 5)"
    )
    assert "record 3 (line 4): has 5 cells but the header has 3" in done.stderr
    assert "warning: record 5 (line 7): email 'not-an-email' dropped" in done.stderr
    assert "importing: 100%" in done.stderr  # plain progress lines, no bar, off a terminal
    again = _run(database_url, "import", str(DATA / "google_contacts.csv"), "--follow-up")
    assert again.returncode == 0 and "3 created" in again.stdout
    excel = _run(database_url, "import", str(DATA / "excel_semicolon_cp1252.csv"))
    assert excel.returncode == 0 and "3 created" in excel.stdout
    assert "note: 2 lines (first: line 2) were not valid UTF-8 and were read as Windows-1252" in excel.stderr


def test_cli_export_writes_vcard_and_csv_files(database_url, tmp_path: Path):
    assert _run(database_url, "import", str(DATA / "phone_export_v21.vcf")).returncode == 0
    target = tmp_path / "out.vcf"
    done = _run(database_url, "export", "--format", "vcf", "-o", str(target), "--vcard-version", "4.0")
    assert done.returncode == 0, done.stderr
    assert done.stderr.strip().endswith(f"exported 3 contacts to {target} ({target.stat().st_size} bytes)")
    assert done.stdout == ""
    cards = ical_parse(target.read_text("utf-8"))
    assert sorted(next(p["values"][0] for p in c["properties"] if p["name"] == "fn") for c in cards) == [
        "Jürgen Müller",
        "Lucía García",
        "Ngozi Okafor",
    ]
    assert not list(tmp_path.glob(".*.part"))
    to_stdout = _run(database_url, "export", "--format", "csv", "--query", "münchen", "--bom")
    assert to_stdout.returncode == 0
    assert to_stdout.stdout.startswith("\ufeffID,Full Name")
    rows = list(csv.reader(io.StringIO(to_stdout.stdout.removeprefix("\ufeff"))))
    assert len(rows) == 2 and rows[1][1] == "Jürgen Müller"


def test_cli_import_draws_a_progress_bar_on_a_terminal(database_url):
    controller, terminal = pty.openpty()
    try:
        done = subprocess.run(
            [sys.executable, "-m", "lead_mcp", "import", str(DATA / "google_contacts.csv")],
            env={**_env(database_url), "COLUMNS": "100", "TERM": "xterm"},
            stdout=subprocess.PIPE,
            stderr=terminal,
            timeout=120,
            text=True,
        )
        os.close(terminal)
        terminal = -1
        chunks = []
        while True:
            try:
                data = os.read(controller, 65536)
            except OSError:
                break
            if not data:
                break
            chunks.append(data)
    finally:
        if terminal != -1:
            os.close(terminal)
        os.close(controller)
    drawn = b"".join(chunks).decode("utf-8", errors="replace")
    assert done.returncode == 0 and "3 created" in done.stdout
    assert "importing" in drawn and "━" in drawn  # rich's bar
    assert "importing: 100%" not in drawn  # not the plain lines
