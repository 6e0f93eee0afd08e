"""Timing helpers shared by Relay's runner and the competitors' runner (plain Python, no project imports)."""

import time
from collections.abc import Callable

from django.db import connection
from django.test.utils import CaptureQueriesContext


def percentile(sorted_values: list[float], fraction: float) -> float:
    """Nearest-rank percentile of an already sorted list."""
    if not sorted_values:
        return float("nan")
    index = max(0, min(len(sorted_values) - 1, round(fraction * len(sorted_values) + 0.5) - 1))
    return sorted_values[index]


def time_call(
    call: Callable[[int], object], *, iterations: int = 200, warmup: int = 5, budget_s: float = 8.0, minimum: int = 10
) -> dict:
    """Run `call(i)` `warmup` times, then up to `iterations` times (stopping after `budget_s` seconds once
    `minimum` runs are done); returns p50/p95/p99/mean in milliseconds, the run count, the SQL query count
    of one extra captured run, and `cpu_p50`: the median CPU time of this process per run (Python's share,
    without the database's; less sensitive than wall time to other load on the machine)."""
    for i in range(warmup):
        call(i)
    samples, cpu = [], []
    started = time.perf_counter()
    for i in range(iterations):
        t0, c0 = time.perf_counter(), time.process_time()
        call(warmup + i)
        samples.append((time.perf_counter() - t0) * 1000)
        cpu.append((time.process_time() - c0) * 1000)
        if len(samples) >= minimum and time.perf_counter() - started > budget_s:
            break
    with CaptureQueriesContext(connection) as captured:
        call(warmup + len(samples))
    samples.sort()
    cpu.sort()
    return {
        "cpu_p50": percentile(cpu, 0.50),
        "p50": percentile(samples, 0.50),
        "p95": percentile(samples, 0.95),
        "p99": percentile(samples, 0.99),
        "mean": sum(samples) / len(samples),
        "runs": len(samples),
        "queries": len(captured.captured_queries),
    }
