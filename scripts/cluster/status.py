"""The loopback cluster's nodes (scripts/cluster.sh): what each is, where it listens and whether it runs.

`python scripts/cluster/status.py STATE` prints one JSON object, a key per node: its role (for PostgreSQL as
Patroni's REST API says: `leader`, `sync_standby` or `replica`), port, pid and whether it runs, and the
replica's lag. `--check synchronous` exits 0 once a synchronous replica streams, else 1. Standard library
only: `status` answers even before the virtual environment has the dev packages.
"""

from __future__ import annotations

import json
import os
import socket
import sys
import urllib.request
from pathlib import Path

# name: (role, port); the PostgreSQL nodes' roles come from Patroni.
NODES = {
    "etcd": ("etcd", 22379),
    "patroni-pg1": ("patroni", 28008),
    "patroni-pg2": ("patroni", 28009),
    "haproxy": ("proxy", 28080),
    "pgbouncer": ("pgbouncer", 26432),
    "redis": ("redis", 26379),
    "app1": ("app", 28001),
    "app2": ("app", 28002),
    "stream1": ("stream", 28101),
    "stream2": ("stream", 28102),
}
POSTGRES = {"pg1": (25432, 28008), "pg2": (25433, 28009)}  # name: (port, Patroni's REST port)
PROXY_PORTS = {"http": 28080, "postgres_primary": 25000, "postgres_replica": 25001, "stats": 28404}


def pid_alive(pid: int | None) -> bool:
    if pid is None:
        return False
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True


def read_pid(path: Path) -> int | None:
    try:
        return int(path.read_text().split()[0])
    except (OSError, ValueError, IndexError):
        return None


def listening(port: int) -> bool:
    try:
        with socket.create_connection(("127.0.0.1", port), timeout=0.5):
            return True
    except OSError:
        return False


def patroni_cluster() -> dict | None:
    """Patroni's view of the cluster (`GET /cluster`), from whichever node answers."""
    for _, rest_port in POSTGRES.values():
        try:
            with urllib.request.urlopen(f"http://127.0.0.1:{rest_port}/cluster", timeout=1) as response:
                cluster: dict = json.load(response)
                return cluster
        except OSError:
            continue
    return None


def status(state: Path) -> dict:
    run = state / "run"
    nodes: dict[str, dict] = {}
    for name, (role, port) in NODES.items():
        pid = read_pid(run / f"{name}.pid")
        nodes[name] = {"role": role, "port": port, "pid": pid, "running": pid_alive(pid) and listening(port)}
    nodes["haproxy"]["ports"] = PROXY_PORTS
    nodes["haproxy"]["url"] = "http://127.0.0.1:28080"

    cluster = patroni_cluster()
    members = {member["name"]: member for member in (cluster or {}).get("members", [])}
    replica_lag = None
    for name, (port, rest_port) in POSTGRES.items():
        member = members.get(name, {})
        pid = read_pid(state / "postgres" / name / "postmaster.pid")
        running = pid_alive(pid) and listening(port)
        role = member.get("role", "unknown") if running else "stopped"
        nodes[name] = {
            "role": role,
            "port": port,
            "rest_port": rest_port,
            "pid": pid if running else None,
            "running": running,
            "state": member.get("state"),
            "timeline": member.get("timeline"),
        }
        if role in ("replica", "sync_standby"):
            nodes[name]["lag_bytes"] = member.get("lag")
            replica_lag = member.get("lag")
    return {"cluster": "relay-cluster", "nodes": nodes, "replica_lag_bytes": replica_lag}


def synchronous_replica_streams() -> bool:
    cluster = patroni_cluster()
    members = (cluster or {}).get("members", [])
    return any(m.get("role") == "sync_standby" and m.get("state") in ("streaming", "running") for m in members)


def main() -> int:
    state = Path(sys.argv[1])
    if sys.argv[2:] == ["--check", "synchronous"]:
        return 0 if synchronous_replica_streams() else 1
    print(json.dumps(status(state), indent=2))
    return 0


if __name__ == "__main__":
    sys.exit(main())
