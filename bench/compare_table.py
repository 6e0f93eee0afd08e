"""The markdown table of `python -m bench.compare`: per case and load, each checkout's median over the rounds
with its spread, head/base as the median of the rounds' paired ratios, and a word on the change.
"""

import statistics

LIMIT = 0.15  # issue 26: no target may regress by more than 15%


def median_of(values: list[float]) -> float | None:
    values = [v for v in values if v is not None and v == v]  # no None, no NaN
    return statistics.median(values) if values else None


def number(value: float | None, digits: int) -> str:
    return "–" if value is None else f"{value:,.{digits}f}"


def spread_cell(values: list, digits: int) -> str:
    """`median (lowest–highest)` of the rounds."""
    values = [v for v in values if v is not None and v == v]
    if not values:
        return "–"
    middle = number(statistics.median(values), digits)
    if len(values) == 1:
        return middle
    return f"{middle} ({number(min(values), digits)}–{number(max(values), digits)})"


def _paired(runs: dict[str, list[dict]], value) -> list[float]:
    """head/base of each round: the round's two passes ran back to back, so a ratio compares like with like
    better than a ratio of medians does when the machine's load changes from minute to minute."""
    ratios = []
    for base_run, head_run in zip(runs["base"], runs["head"], strict=False):
        base, head = value(base_run), value(head_run)
        if base and head is not None and base == base and head == head:  # no zero, None or NaN
            ratios.append(head / base)
    return ratios


def _cpu_per_request(load: dict | None) -> float | None:
    """Milliseconds of CPU per request, gunicorn's workers and PostgreSQL's backends together."""
    if not load or load.get("worker_cpu_ms_per_request") is None:
        return None
    return load["worker_cpu_ms_per_request"] + (load.get("database_cpu_ms_per_request") or 0.0)


def _change(ratios: list[float], *, higher_is_better: bool) -> tuple[str, str]:
    """The rounds' head/base (median and spread) and a word on the median: worse past LIMIT is marked."""
    if not ratios:
        return "–", ""
    ratio = statistics.median(ratios)
    # On the measured quantity itself: req/s down by more than 15%, or milliseconds up by more than 15%.
    slower = ratio < 1 if higher_is_better else ratio > 1
    percent = abs(ratio - 1) * 100
    word = "slower" if slower else "faster"
    verdict = f"{word} by {percent:.0f}%" if percent > LIMIT * 100 else "within 15%"
    if percent > LIMIT * 100 and min(ratios) < 1 < max(ratios):
        verdict += " (the rounds disagree)"  # the noise is larger than the change
    elif slower and percent > LIMIT * 100:
        verdict = f"**{verdict}**"
    return spread_cell(ratios, 2), verdict


def markdown_table(header: tuple, rows: list[tuple]) -> list[str]:
    lines = ["| " + " | ".join(header) + " |", "|" + "---|" * len(header)]
    return lines + ["| " + " | ".join(str(cell) for cell in row) + " |" for row in rows]


def _names(runs: dict[str, list[dict]], key: str) -> list[str]:
    """Every name measured under `key` by either side, in the order they ran (base's first)."""
    names: list[str] = []
    for side in ("base", "head"):
        for run in runs[side]:
            section = run[key]
            for name in section.get("loads", []) if key == "http" else section:
                if name not in names:
                    names.append(name)
    return names


def render(*, runs: dict[str, list[dict]], meta: dict) -> str:
    out = [
        f"### Side by side: base `{meta['base']}` against head `{meta['head']}`",
        "",
        f"Produced by `{meta['command']}` on {meta['when']} ({meta['minutes']:.0f} minutes), {meta['rounds']} rounds.",
        "One process per checkout, in its checkout; every case and every load ran on both back to back, the",
        "first of the two alternating from one case to the next and from one round to the next. Data:",
        f"`{meta['databases']['base']}`, made by the base checkout's generator (10,000 users, 1,000,000",
        f"messages), and `{meta['databases']['head']}`, a copy of it migrated by the head checkout. Cells: the",
        "median of the rounds (lowest–highest); head/base: the median of the rounds' paired ratios (lowest–",
        "highest). A change past 15% for the worse is in bold, unless the rounds disagree on its direction.",
        "",
        f"- base: `{meta['base_path']}`, {meta['base_commit']}",
        f"- head: `{meta['head_path']}`, {meta['head_commit']}",
        *[f"- {key}: {value}" for key, value in meta["machine"].items()],
        *[f"- subject {key}: {value}" for key, value in meta["facts"].items()],
        "",
    ]
    http_names = _names(runs, "http")
    if http_names:
        first = next(run["http"] for side in ("base", "head") for run in runs[side] if run["http"].get("loads"))
        out += [
            "#### HTTP: req/s and fraction of the floor",
            "",
            f"`{first['command']}` with `DJANGO_SETTINGS_MODULE=bench.floor_settings` (the app's URLs plus the",
            f"floors), `wrk -t2 -c{first['connections']} -d{first['duration_s']}s` per load, the typical user's JWT.",
            "The send's floor is the authenticated insert of one row into a table without triggers; the reads' is",
            "the authenticated GET of a constant; the fraction is each round's own. CPU: milliseconds per request of",
            "gunicorn's workers and of PostgreSQL's backends, and head/base of their sum: less sensitive than req/s to",
            "the other load on a shared machine.",
            "",
        ]
        rows = []
        for name in http_names:
            got = {side: [run["http"].get(name) for run in runs[side] if run["http"].get(name)] for side in runs}
            rate = {side: [g["requests_per_s"] for g in got[side]] for side in got}
            fraction = {side: [g["fraction_of_floor"] for g in got[side]] for side in got}
            ratio, verdict = _change(
                _paired(runs, lambda run, name=name: (run["http"].get(name) or {}).get("requests_per_s")),
                higher_is_better=True,
            )
            cpu = {
                side: f"{number(median_of([g['worker_cpu_ms_per_request'] for g in got[side]]), 2)} / "
                f"{number(median_of([g['database_cpu_ms_per_request'] for g in got[side]]), 2)}"
                for side in got
            }
            errors = sum(g["non_2xx"] + g["socket_errors"] for side in got for g in got[side])
            cpu_ratio, _ = _change(
                _paired(runs, lambda run, name=name: _cpu_per_request(run["http"].get(name))),
                higher_is_better=False,
            )
            is_floor = all(g["floor"] is None for side in got for g in got[side])
            rows.append(
                (
                    name,
                    spread_cell(rate["base"], 0),
                    spread_cell(rate["head"], 0),
                    ratio,
                    verdict,
                    "1" if is_floor else spread_cell(fraction["base"], 2),
                    "1" if is_floor else spread_cell(fraction["head"], 2),
                    cpu["base"],
                    cpu["head"],
                    cpu_ratio,
                    errors,
                )
            )
        out += markdown_table(
            (
                "load",
                "base req/s",
                "head req/s",
                "head/base",
                "change",
                "base: fraction of floor",
                "head: fraction of floor",
                "base CPU ms gunicorn / PostgreSQL",
                "head CPU ms gunicorn / PostgreSQL",
                "head/base CPU per request",
                "non-2xx + socket errors",
            ),
            rows,
        )
        out.append("")
    case_names = _names(runs, "inprocess")
    if case_names:
        out += [
            "#### In-process: milliseconds per request",
            "",
            "Each checkout's own `bench/inprocess.py` cases (DRF's APIClient, the whole Django stack, no socket),",
            "paired by name; p50 is wall time, CPU the Django process's CPU time per request (without",
            "PostgreSQL's: less sensitive to the other load on a shared machine).",
            "",
        ]
        rows = []
        for name in case_names:
            got = {side: [run["inprocess"][name] for run in runs[side] if name in run["inprocess"]] for side in runs}
            p50 = {side: [g["p50"] for g in got[side]] for side in got}
            cpu = {side: [g["cpu_p50"] for g in got[side]] for side in got}
            ratio, verdict = _change(
                _paired(runs, lambda run, name=name: (run["inprocess"].get(name) or {}).get("p50")),
                higher_is_better=False,
            )
            cpu_ratio, _ = _change(
                _paired(runs, lambda run, name=name: (run["inprocess"].get(name) or {}).get("cpu_p50")),
                higher_is_better=False,
            )
            queries = {side: sorted({g["queries"] for g in got[side]}) for side in got}
            errors = sum(g["errors"] for side in got for g in got[side])
            rows.append(
                (
                    name,
                    spread_cell(p50["base"], 2),
                    spread_cell(p50["head"], 2),
                    ratio,
                    verdict,
                    spread_cell(cpu["base"], 2),
                    spread_cell(cpu["head"], 2),
                    cpu_ratio,
                    " → ".join("/".join(str(q) for q in queries[side]) or "–" for side in ("base", "head")),
                    errors,
                )
            )
        out += markdown_table(
            (
                "case",
                "base p50 ms",
                "head p50 ms",
                "head/base",
                "change",
                "base CPU ms",
                "head CPU ms",
                "head/base CPU",
                "queries base → head",
                "errors",
            ),
            rows,
        )
        out.append("")
    return "\n".join(out)
