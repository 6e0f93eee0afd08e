"""`python -m bench.fractions`: issue 27's HTTP targets on this checkout alone, the quick check between compares.

    DATABASE_URL=postgres://postgres@127.0.0.1:5433/relay_bench REDIS_URL=redis://127.0.0.1:6379/14 \\
    EVENTS_KEY_PREFIX=relay-bench:events python -m bench.fractions [--rounds 5] [--duration 8]

The server and loads of `bench/http.py` (gunicorn on the production line, `bench.floor_settings`, `wrk -t2
-c16`, the typical user's JWT), on `python -m bench`'s dataset: round after round, the GET floor, the three
conversation lists, the insert floor and the send, each list a fraction of the GET floor of its round and the
send of the insert floor of its round. Prints per load the median req/s, the median fraction with the lowest
and highest round, and the CPU milliseconds per request of gunicorn's workers and PostgreSQL's backends.
Five rounds of 8 s take about 5 minutes. No base: `bench.compare` measures a change against its base.
"""

import argparse

from bench.__main__ import _setup_django
from bench.compare_table import markdown_table, median_of, number, spread_cell

LISTS = (
    "conversations (typical user)",
    "legacy direct-messages/conversations (typical user)",
    "legacy messaging/conversations (typical user)",
)


def main(argv=None) -> None:
    parser = argparse.ArgumentParser(prog="python -m bench.fractions", description=__doc__.splitlines()[0])
    parser.add_argument("--rounds", type=int, default=5)
    parser.add_argument("--duration", type=int, default=8, help="seconds of wrk per load")
    args = parser.parse_args(argv)
    _setup_django()
    from bench import inprocess
    from bench.http import FLOOR_INSERT, FLOOR_READ, HttpBench

    loads = [FLOOR_READ, *LISTS, FLOOR_INSERT, "send"]
    bench = HttpBench(subjects=inprocess.choose_subjects(), log=lambda line: None)
    if reason := bench.unavailable():
        raise SystemExit(reason)
    rounds: dict[str, list[dict]] = {name: [] for name in loads}
    bench.start()
    try:
        for _ in range(args.rounds):
            for name in loads:
                rounds[name].append(bench.measure(name, args.duration))
    finally:
        bench.stop()

    rows = []
    for name, results in rounds.items():
        fractions = [result["fraction_of_floor"] for result in results]
        worker = median_of([result["worker_cpu_ms_per_request"] for result in results])
        database = median_of([result["database_cpu_ms_per_request"] for result in results])
        rows.append(
            (
                name,
                spread_cell([result["requests_per_s"] for result in results], 0),
                spread_cell(fractions, 2) if any(fractions) else "1",
                f"{number(worker, 2)} / {number(database, 2)}",
            )
        )
    print(f"{args.rounds} rounds of {args.duration} s per load; median (lowest–highest)\n")
    print("\n".join(markdown_table(("load", "req/s", "fraction of its floor", "CPU ms gunicorn / PostgreSQL"), rows)))


if __name__ == "__main__":
    main()
