"""How fast this machine runs Python right now, so figures from different days can be compared.

The goals are seconds on two cores, but the machines these benchmarks run on are shared virtual
machines whose speed has varied by 2-3x from one session to the next with the same code (an
import of 100k rows took 14.9 s on one day and 37.9 s the next). Each benchmark prints this
reference first: a fixed single-threaded workload of the kinds of work lead-mcp does (string
building and splitting, dictionaries, a regular expression, JSON, an SQLite insert), timed three
times, the median kept. Compare a figure with another day's only together with this one.

    python -m benchmarks.machine
"""

from __future__ import annotations

import json
import re
import sqlite3
import statistics
import time

_WORD = re.compile(r"[a-z]+\d*")


def _workload() -> int:
    conn = sqlite3.connect(":memory:")
    conn.execute("CREATE TABLE t (k TEXT PRIMARY KEY, v TEXT)")
    seen: dict[str, int] = {}
    total = 0
    for i in range(60_000):
        email = f"person.{i}@example{i % 503}.com"
        local, _, domain = email.partition("@")
        seen[domain] = seen.get(domain, 0) + 1
        total += len(_WORD.findall(local)) + len(json.dumps([email, domain]))
        conn.execute("INSERT INTO t VALUES (?, ?)", (email, domain))
    conn.commit()
    conn.close()
    return total + len(seen)


def reference_ms(runs: int = 3) -> float:
    """Median milliseconds of the fixed workload."""
    times = []
    for _ in range(runs):
        started = time.perf_counter()
        _workload()
        times.append((time.perf_counter() - started) * 1000)
    return statistics.median(times)


def describe() -> str:
    """One line to print before a benchmark's figures."""
    return f"machine reference: {reference_ms():.0f} ms (benchmarks/machine.py; lower is faster)"


if __name__ == "__main__":
    print(describe())
