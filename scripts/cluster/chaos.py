"""Five faults under a steady load through the loopback cluster's proxy (`scripts/cluster.sh chaos`).

The load: a few threads sending (`POST /api/messages/send`), listing conversations and reading threads as the
demo users, and an event stream per user that reconnects through the proxy and resumes by `Last-Event-ID`
when it is cut. Every acknowledged send (201) goes into a ledger with its id, its body (unique to that send)
and its recipient. A load thread or stream that dies of any exception fails every fault from then on, by
name, as does a fault during which no request succeeded: no fault passes without load. The faults, in order:

1. kill -9 an app node (gunicorn): the proxy routes around it; only requests in flight on it fail. Judged once
   the load's request timeout has passed since the kill, so a request sent to it afterwards and left hanging
   counts.
2. kill -9 a stream node (uvicorn) holding streams: they reconnect to the other and resume: every event id of
   their users' logs seen once, none missing inside, and, after a settling time, none missing at the end
   (each stream reaches its log's newest id), whatever the event's type.
3. restart Redis (empty): no send fails; the streams get `resync` and go on, again with no gap after it.
4. stop the replica (Patroni, then its PostgreSQL): first the app nodes' `relay_read_requests_total{database=
   "replica"}` must rise under the load (the app reads the replica); then reads through PgBouncer's
   `relay_replica` reach the primary within 5 s, the app's reads succeed and its primary count rises; no
   request fails from the stop until the replica is synchronous again.
5. kill -9 the primary's PostgreSQL: Patroni promotes the synchronous replica; sends succeed again within 15 s.

At the end every acknowledged send must be on the (new) primary with its id, body and recipient (an id that
a lost commit's successor took again does not hide the loss). Prints a line per fault and the last line
`chaos: N/5 faults survived, L acknowledged sends lost`; exits 1 on any loss or failed fault. Bounded:
whatever happens, it ends within `--max-seconds` (240).
"""

from __future__ import annotations

import argparse
import itertools
import json
import os
import random
import signal
import subprocess
import sys
import threading
import time
import traceback
import urllib.request
import uuid
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import cast

import httpx
import psycopg
import redis
from status import patroni_cluster  # scripts/cluster/status.py, beside this file

PROXY = "http://127.0.0.1:28080"
PRIMARY = "postgresql://relay@127.0.0.1:25000/relay"  # HAProxy's primary port
REPLICA_POOL = "postgresql://relay@127.0.0.1:26432/relay_replica"  # PgBouncer's replica entry
REDIS = "redis://127.0.0.1:26379/0"
PASSWORD = "relay-demo-pass"  # manage.py seed_data's
USERS = ["alice", "bob", "carol", "dave"]
APP_NODES = {"app1": 28001, "app2": 28002}  # their /metrics answer loopback directly
REQUEST_TIMEOUT = 10.0  # the load's, per request
SETTLE = 1.5  # seconds for an event published to reach an open stream
ROOT = Path(__file__).resolve().parents[2]


def log(text: str) -> None:
    print(f"[{time.strftime('%H:%M:%S')}] {text}", flush=True)


def cluster(*args: str) -> None:
    """`scripts/cluster.sh start|stop NODE`."""
    subprocess.run([str(ROOT / "scripts/cluster.sh"), *args], check=True, stdout=subprocess.DEVNULL)


@dataclass
class Outcome:
    started: float
    ended: float
    kind: str  # send, list, thread
    ok: bool
    detail: str = ""


@dataclass(frozen=True)
class Ack:
    """An acknowledged send: what the server answered 201 for."""

    id: int
    body: str  # unique to this send
    recipient_id: int
    at: float


@dataclass
class Ledger:
    """What the load saw: every request's outcome, every acknowledged send, and the threads that died."""

    lock: threading.Lock = field(default_factory=threading.Lock)
    outcomes: list[Outcome] = field(default_factory=list)
    sent: list[Ack] = field(default_factory=list)  # a list: an id acknowledged twice is two sends
    dead: list[str] = field(default_factory=list)  # "thread name: error"

    def record(self, outcome: Outcome) -> None:
        with self.lock:
            self.outcomes.append(outcome)

    def died(self, name: str, error: BaseException) -> None:
        line = traceback.format_exception_only(type(error), error)[-1].strip()
        with self.lock:
            self.dead.append(f"{name}: {line}")
        log(f"LOAD THREAD DIED: {name}: {line}")
        traceback.print_exception(error)

    def succeeded(self, since: float) -> int:
        with self.lock:
            return sum(o.ok for o in self.outcomes if o.started >= since)

    def failures(self, kinds: set[str], since: float, until: float) -> list[Outcome]:
        with self.lock:
            return [o for o in self.outcomes if o.kind in kinds and not o.ok and since <= o.started <= until]

    def first_ok(self, kind: str, started_after: float) -> float | None:
        with self.lock:
            times = [o.ended for o in self.outcomes if o.kind == kind and o.ok and o.started >= started_after]
        return min(times) if times else None


class User:
    def __init__(self, name: str, user_id: int) -> None:
        self.name = name
        self.id = user_id
        self.token = ""

    def login(self) -> None:
        response = httpx.post(f"{PROXY}/api/auth/token/", json={"username": self.name, "password": PASSWORD})
        response.raise_for_status()
        self.token = response.json()["access"]

    @property
    def headers(self) -> dict[str, str]:
        return {"Authorization": f"Bearer {self.token}"}


class Reported(threading.Thread):
    """A thread of the run whose death (any exception) is reported to the ledger by name."""

    ledger: Ledger

    def run(self) -> None:
        try:
            self._run()
        except BaseException as error:  # noqa: BLE001 -- any death is reported, by name
            self.ledger.died(self.name, error)

    def _run(self) -> None:
        raise NotImplementedError


class Load(Reported):
    """Sends, lists and thread reads, one at a time, about ten a second per thread."""

    def __init__(self, users: list[User], ledger: Ledger, stop: threading.Event, seed: int) -> None:
        super().__init__(daemon=True, name=f"load-{seed}")
        self.users, self.ledger, self.stop, self.random = users, ledger, stop, random.Random(seed)

    def _run(self) -> None:
        run = uuid.uuid4().hex[:8]
        with httpx.Client(base_url=PROXY, timeout=httpx.Timeout(REQUEST_TIMEOUT)) as client:
            for number in itertools.count():
                if self.stop.is_set():
                    return
                sender, recipient = self.random.sample(self.users, 2)
                kind = self.random.choice(["send", "send", "list", "thread"])
                started = time.monotonic()
                body = f"chaos {run} {self.name} {number}"
                try:
                    if kind == "send":
                        response = client.post(
                            "/api/messages/send",
                            headers=sender.headers,
                            json={"recipient_id": recipient.id, "body": body},
                        )
                    elif kind == "list":
                        response = client.get("/api/messages/conversations", headers=sender.headers)
                    else:
                        response = client.get(f"/api/messages/with/{recipient.id}", headers=sender.headers)
                    ok = response.status_code == (201 if kind == "send" else 200)
                    detail = "" if ok else f"{response.status_code} {response.text[:120]}"
                    if ok and kind == "send":
                        ack = Ack(response.json()["id"], body, recipient.id, time.monotonic())
                        with self.ledger.lock:
                            self.ledger.sent.append(ack)
                except httpx.HTTPError as error:
                    ok, detail = False, f"{type(error).__name__}: {error}"
                self.ledger.record(Outcome(started, time.monotonic(), kind, ok, detail))
                time.sleep(self.random.uniform(0.05, 0.15))


class Stream(Reported):
    """A user's event stream through the proxy, reconnecting with `Last-Event-ID` whenever it is cut."""

    def __init__(self, user: User, stop: threading.Event, ledger: Ledger) -> None:
        super().__init__(daemon=True, name=f"stream-{user.name}")
        self.user, self.stop, self.ledger = user, stop, ledger
        self.lock = threading.Lock()
        self.ids: list[str] = []  # every id received, in order
        self.created: set[int] = set()  # the message ids of its message.created events
        self.resyncs: list[float] = []
        self.resync_index = 0  # where in `ids` the last resync's id is (its position: what follows it counts)
        self.connections: list[tuple[float, str]] = []  # (when, the node that served it)
        self.last_id: str | None = None
        self.connected = threading.Event()

    def _run(self) -> None:
        while not self.stop.is_set():
            headers = dict(self.user.headers)
            if self.last_id:
                headers["Last-Event-ID"] = self.last_id
            try:
                timeout = httpx.Timeout(5.0, read=40.0)
                with httpx.stream("GET", f"{PROXY}/api/messages/events", headers=headers, timeout=timeout) as response:
                    if response.status_code != 200:
                        raise httpx.HTTPStatusError("not 200", request=response.request, response=response)
                    with self.lock:
                        self.connections.append((time.monotonic(), response.headers.get("X-Relay-Node", "?")))
                    self.connected.set()
                    self._read(response)
            except httpx.HTTPError:
                pass
            self.connected.clear()
            time.sleep(0.3)

    def _read(self, response: httpx.Response) -> None:
        event_id, event_type, data = None, "message", ""
        for line in response.iter_lines():
            if self.stop.is_set():
                return
            if line == "":
                if event_id is not None:
                    with self.lock:
                        self.ids.append(event_id)
                        self.last_id = event_id
                        if event_type == "message.created" and data:
                            self.created.add(json.loads(data)["id"])
                        if event_type == "resync":
                            self.resyncs.append(time.monotonic())
                            self.resync_index = len(self.ids) - 1
                event_id, event_type, data = None, "message", ""
            elif line.startswith("id:"):
                event_id = line[3:].strip()
            elif line.startswith("event:"):
                event_type = line[6:].strip()
            elif line.startswith("data:"):
                data += line[5:].strip()

    def node(self) -> str:
        with self.lock:
            return self.connections[-1][1] if self.connections else "?"


def stream_id(value: str) -> tuple[int, int]:
    ms, seq = value.split("-")
    return int(ms), int(seq)


def patroni_members() -> dict[str, dict]:
    cluster = patroni_cluster()
    return {member["name"]: member for member in cluster["members"]} if cluster else {}


def member_with_role(*roles: str) -> str | None:
    return next((name for name, m in patroni_members().items() if m.get("role") in roles), None)


def wait_until(condition: Callable[[], object], seconds: float, step: float = 0.1) -> float | None:
    """Seconds until `condition()` held, or None if it did not within `seconds`."""
    start = time.monotonic()
    while time.monotonic() - start < seconds:
        try:
            if condition():
                return time.monotonic() - start
        except Exception:  # noqa: BLE001 -- a part that is down answers with anything
            pass
        time.sleep(step)
    return None


def pid_file(state: Path, name: str) -> int:
    return int((state / "run" / f"{name}.pid").read_text().split()[0])


def kill_node(state: Path, name: str) -> float:
    """kill -9 every process of the node (its process group), as the machine dying would; returns when the
    last of them is gone (requests that reached it until then were in flight on it)."""
    group = pid_file(state, name)
    os.killpg(group, signal.SIGKILL)
    deadline = time.monotonic() + 2  # a process not yet reaped still counts as in the group
    while time.monotonic() < deadline:
        try:
            os.killpg(group, 0)
        except ProcessLookupError:
            break
        time.sleep(0.005)
    return time.monotonic()


def read_requests() -> dict[str, float]:
    """`relay_read_requests_total` by database, summed over the app nodes, each scraped directly on loopback
    (its /metrics adds up its own workers)."""
    totals = {"replica": 0.0, "primary": 0.0}
    for port in APP_NODES.values():
        with urllib.request.urlopen(f"http://127.0.0.1:{port}/metrics", timeout=3) as response:
            for line in response.read().decode().splitlines():
                for database in totals:
                    if line.startswith(f'relay_read_requests_total{{database="{database}"}} '):
                        totals[database] += float(line.split()[-1])
    return totals


class Chaos:
    def __init__(self, state: Path) -> None:
        self.state = state
        self.ledger = Ledger()
        self.stop = threading.Event()
        self.results: list[tuple[str, bool, str]] = []
        self.measured: dict[str, float] = {}
        self.fault_started = time.monotonic()

    def result(self, name: str, ok: bool, text: str) -> None:
        """A fault's line. It fails whatever it measured when a load thread has died or no request of the load
        succeeded during it: a fault is survived under load, not without."""
        with self.ledger.lock:
            dead = list(self.ledger.dead)
        if dead:
            ok, text = False, f"{text}; LOAD THREADS DIED: {'; '.join(dead)}"
        succeeded = self.ledger.succeeded(self.fault_started)
        if succeeded < 10:
            ok, text = False, f"{text}; NO LOAD: {succeeded} requests succeeded during the fault"
        self.results.append((name, ok, text))
        print(f"fault {len(self.results)} ({name}): {'survived' if ok else 'FAILED'}: {text}", flush=True)

    def start_load(self) -> None:
        with psycopg.connect(PRIMARY) as connection:
            ids: dict[str, int] = dict(
                connection.execute("SELECT username, id FROM users_user WHERE username = ANY(%s)", [USERS])
            )
        self.users = [User(name, ids[name]) for name in USERS]
        for user in self.users:
            user.login()
        self.streams = [Stream(user, self.stop, self.ledger) for user in self.users]
        for stream in self.streams:
            stream.start()
        for number in range(3):
            Load(self.users, self.ledger, self.stop, seed=number).start()
        for stream in self.streams:
            if not stream.connected.wait(20):
                raise SystemExit(f"chaos: {stream.user.name}'s event stream did not open")
        log(f"load running: 3 threads, {len(self.streams)} event streams")

    # 1 ---------------------------------------------------------------------------------------------------------
    def kill_app_node(self) -> None:
        time.sleep(3)
        victim = "app1"
        killed = kill_node(self.state, victim)
        log(f"kill -9 {victim}")
        time.sleep(3)
        cluster("start", victim)
        log(f"{victim} restarted")
        # A request sent after the kill and left hanging ends (fails) by the load's timeout: judged after it.
        time.sleep(max(0.0, killed + REQUEST_TIMEOUT + 1 - time.monotonic()))
        failed = self.ledger.failures({"send", "list", "thread"}, killed - 15, time.monotonic())
        late = [o for o in failed if o.started > killed]
        self.result(
            f"kill -9 app node {victim}",
            not late,
            f"{len(failed) - len(late)} requests failed in flight, {len(late)} started after the kill failed "
            f"(judged {REQUEST_TIMEOUT + 1:.0f} s after the kill)" + (f" (e.g. {late[0].detail})" if late else ""),
        )

    # 2 ---------------------------------------------------------------------------------------------------------
    def kill_stream_node(self) -> None:
        nodes = [stream.node() for stream in self.streams]
        victim = "stream1" if nodes.count("stream1") >= nodes.count("stream2") else "stream2"
        cut = [stream for stream in self.streams if stream.node() == victim]
        before = {stream: len(stream.connections) for stream in self.streams}
        killed = time.monotonic()
        kill_node(self.state, victim)
        log(f"kill -9 {victim}, which held {len(cut)} of the {len(self.streams)} streams")
        back = wait_until(lambda: all(len(s.connections) > before[s] and s.connected.is_set() for s in cut), 15, 0.02)
        if back is not None:
            back = time.monotonic() - killed  # from the kill, not from the group's last process gone
        time.sleep(4)  # sends keep arriving on the resumed streams
        cluster("start", victim)
        log(f"{victim} restarted")
        time.sleep(2)
        problems = self.check_streams_against_logs(after_resync=False)
        problems += self.check_sends_delivered(since=killed - 5, until=time.monotonic() - 2)
        moved = sorted({stream.node() for stream in cut})
        ok = back is not None and not problems and bool(cut)
        self.measured["stream reconnect seconds"] = back if back is not None else -1
        self.result(
            f"kill -9 stream node {victim}",
            ok,
            f"{len(cut)} streams cut, back on {','.join(moved) or '-'} after "
            f"{back if back is None else round(back, 1)} s; "
            + ("; ".join(problems[:3]) or "no gap (inside or at the end), no duplicate"),
        )

    def check_streams_against_logs(self, *, after_resync: bool) -> list[str]:
        """Each stream's ids are exactly its user's log in Redis after the first id it saw (or after its last
        `resync`), every event type alike: none twice, none missing inside, and none missing at the end: the
        newest id of each log, read first, must have reached its stream after a settling time (the log holds
        the last 1,000; this run writes far fewer)."""
        problems = []
        client = redis.Redis.from_url(REDIS, decode_responses=True)
        newest: dict[Stream, str | None] = {}
        for stream in self.streams:
            last = cast(list, client.xrevrange(f"relay:events:{stream.user.id}", count=1))
            newest[stream] = last[0][0] if last else None
        time.sleep(SETTLE)
        for stream in self.streams:
            with stream.lock:
                seen = stream.ids[stream.resync_index :] if after_resync else list(stream.ids)
            name = stream.user.name
            if len(seen) != len(set(seen)):
                problems.append(f"{name}: {len(seen) - len(set(seen))} ids twice")
            if not seen:
                problems.append(f"{name}: no events")
                continue
            upto = newest[stream]
            if upto is None or stream_id(upto) <= stream_id(seen[0]):
                continue  # nothing logged after its first id
            # The first id may be the stream's position rather than an entry (a fresh stream's unread_count, a
            # resync).
            entries = cast(list, client.xrange(f"relay:events:{stream.user.id}", min=f"({seen[0]}", max=upto))
            logged = [entry_id for entry_id, _ in entries]
            received = [i for i in seen[1:] if stream_id(i) <= stream_id(upto)]
            if logged != received:
                missing = sorted(set(logged) - set(received), key=stream_id)
                at_end = [i for i in missing if stream_id(i) > stream_id(seen[-1])]
                problems.append(
                    f"{name}: {len(missing)} ids missing ({len(at_end)} at the end: the stream stops at {seen[-1]},"
                    f" its log reaches {upto}), e.g. {missing[:2]}"
                )
        client.close()
        return problems

    def check_sends_delivered(self, since: float, until: float) -> list[str]:
        """Every send acknowledged in the window reached its recipient's stream as message.created."""
        with self.ledger.lock:
            sent = [ack for ack in self.ledger.sent if since <= ack.at <= until]
        by_user = {stream.user.id: stream for stream in self.streams}
        missing = [ack.id for ack in sent if ack.id not in by_user[ack.recipient_id].created]
        return [f"{len(missing)} of {len(sent)} sends not delivered, e.g. {missing[:3]}"] if missing else []

    # 3 ---------------------------------------------------------------------------------------------------------
    def restart_redis(self) -> None:
        resyncs = {stream: len(stream.resyncs) for stream in self.streams}
        stopped = time.monotonic()
        cluster("stop", "redis")
        log("Redis stopped")
        time.sleep(2)
        cluster("start", "redis")
        log("Redis started again (empty)")
        started = time.monotonic()
        resumed = wait_until(
            lambda: all(len(s.resyncs) > resyncs[s] and s.connected.is_set() for s in self.streams), 30
        )
        time.sleep(3)
        failed_sends = self.ledger.failures({"send"}, stopped - 1, time.monotonic())
        failed_reads = self.ledger.failures({"list", "thread"}, stopped - 1, time.monotonic())
        problems = self.check_sends_delivered(since=started + (resumed or 0) + 1, until=time.monotonic() - 1)
        if resumed is not None:
            problems += self.check_streams_against_logs(after_resync=True)
        ok = not failed_sends and resumed is not None and not problems
        self.result(
            "restart Redis",
            ok,
            f"{len(failed_sends)} sends and {len(failed_reads)} reads failed"
            + (f" (e.g. {failed_sends[0].detail})" if failed_sends else "")
            + f"; every stream got resync {resumed if resumed is None else round(resumed, 1)} s after the start"
            + ("; " + "; ".join(problems[:3]) if problems else "; new sends delivered, no gap after the resync"),
        )

    # 4 ---------------------------------------------------------------------------------------------------------
    def stop_replica(self) -> None:
        replica = member_with_role("sync_standby", "replica")
        if replica is None:
            self.result("stop the replica", False, "no replica to stop")
            return
        # First: the app reads the replica at all (else stopping it proves nothing).
        before = read_requests()
        time.sleep(3)
        on_replica = read_requests()["replica"] - before["replica"]
        if on_replica <= 0:
            self.result(f"stop the replica {replica}", False, "the app read nothing from the replica in 3 s of load")
            return
        errors: list[str] = []

        def read_on_primary() -> bool:
            try:
                with psycopg.connect(REPLICA_POOL, connect_timeout=3, prepare_threshold=None) as connection:
                    row = connection.execute("SELECT NOT pg_is_in_recovery()").fetchone()
                    return bool(row and row[0])
            except psycopg.Error as error:
                errors.append(str(error).strip())
                raise

        assert not read_on_primary(), "replica reads already on the primary"
        stopped = time.monotonic()
        # Patroni stops its PostgreSQL (fast shutdown), then exits; the reads are watched meanwhile.
        stopping = threading.Thread(target=cluster, args=("stop", f"patroni-{replica}"))
        stopping.start()
        moved = wait_until(read_on_primary, 10, 0.05)
        stopping.join()
        log(f"replica {replica} stopped (Patroni and its PostgreSQL) after {time.monotonic() - stopped:.1f} s")
        counts = read_requests()
        time.sleep(3)
        after = read_requests()
        on_primary = after["primary"] - counts["primary"]
        still_replica = after["replica"] - counts["replica"]
        self.measured["reads on the primary seconds"] = moved if moved is not None else -1
        cluster("start", f"patroni-{replica}")
        synchronous = wait_until(lambda: member_with_role("sync_standby") is not None, 60, 0.5)
        log(f"replica {replica} started again; synchronous again after {synchronous and round(synchronous, 1)} s")
        time.sleep(1)  # requests sent as it became synchronous have ended
        failed_reads = self.ledger.failures({"list", "thread"}, stopped, time.monotonic())
        failed_sends = self.ledger.failures({"send"}, stopped, time.monotonic())
        ok = (
            moved is not None
            and moved <= 5
            and on_primary > 0
            and synchronous is not None
            and not failed_reads
            and not failed_sends
        )  # the probe's own errors are shown, not counted: a bare client of the pooler with no retry, where
        # the app answers a read cut off on the replica again from the primary (config/db_router.py)
        self.result(
            f"stop the replica {replica}",
            ok,
            f"the app read the replica {on_replica:.0f} times in 3 s before; replica reads on the primary after "
            f"{moved if moved is None else round(moved, 1)} s; in 3 s after, the app read the primary "
            f"{on_primary:.0f} times (the replica {still_replica:.0f}); {len(errors)} errors of the bare probe, "
            f"{len(failed_reads)} app reads and {len(failed_sends)} sends failed until it was synchronous again "
            f"({synchronous if synchronous is None else round(synchronous, 1)} s after its start)"
            + (f" (e.g. {errors[0]})" if errors else "")
            + (f" (e.g. {(failed_reads + failed_sends)[0].detail})" if failed_reads or failed_sends else ""),
        )

    # 5 ---------------------------------------------------------------------------------------------------------
    def kill_primary(self) -> None:
        leader = member_with_role("leader")
        if leader is None or member_with_role("sync_standby") is None:
            self.result("kill -9 the primary", False, "no leader with a synchronous replica")
            return
        postmaster = int((self.state / "postgres" / leader / "postmaster.pid").read_text().split()[0])
        killed = time.monotonic()
        os.kill(postmaster, signal.SIGKILL)
        log(f"kill -9 {leader}'s PostgreSQL (postmaster {postmaster})")
        promoted = wait_until(lambda: member_with_role("leader") not in (None, leader), 30)
        new_leader = member_with_role("leader")
        writes = wait_until(lambda: self.ledger.first_ok("send", killed) is not None, 30)
        first_write = self.ledger.first_ok("send", killed)
        resumed = first_write - killed if first_write is not None else None
        self.measured["promotion seconds"] = promoted if promoted is not None else -1
        self.measured["writes resumed seconds"] = resumed if resumed is not None else -1
        time.sleep(3)
        rejoined = wait_until(
            lambda: patroni_members().get(leader, {}).get("state") in ("running", "streaming"), 30, 0.5
        )
        failed = self.ledger.failures({"send", "list", "thread"}, killed - 10, time.monotonic())
        ok = writes is not None and resumed is not None and resumed <= 15 and new_leader not in (None, leader)
        self.result(
            f"kill -9 the primary {leader}",
            ok,
            f"{new_leader} promoted after {promoted if promoted is None else round(promoted, 1)} s, "
            f"writes resumed after {resumed if resumed is None else round(resumed, 1)} s "
            f"({len(failed)} requests failed meanwhile); "
            f"{leader} {'rejoined as a replica' if rejoined is not None else 'has not rejoined yet'}",
        )

    # -----------------------------------------------------------------------------------------------------------
    def lost_sends(self) -> tuple[int, int]:
        """Acknowledged sends not on the primary with their id, body and recipient (an id acknowledged twice, as
        after a lost commit whose id a later send took again, is a loss too)."""
        with self.ledger.lock:
            acks = list(self.ledger.sent)
        stored: dict[int, tuple[str, int]] = {}
        for _ in range(20):  # the new primary may still be taking its first connections
            try:
                with psycopg.connect(PRIMARY, connect_timeout=3) as connection:
                    rows = connection.execute(
                        "SELECT id, body, recipient_id FROM messaging_message WHERE id = ANY(%s)",
                        [[ack.id for ack in acks]],
                    )
                    stored = {row[0]: (row[1], row[2]) for row in rows}
                break
            except psycopg.Error:
                time.sleep(1)
        lost = [ack for ack in acks if stored.get(ack.id) != (ack.body, ack.recipient_id)]
        for ack in lost[:3]:
            print(f"lost: message {ack.id} to {ack.recipient_id} {ack.body!r}; on the primary: {stored.get(ack.id)}")
        return len(acks), len(lost)

    def run(self) -> int:
        self.start_load()
        for fault in (
            self.kill_app_node,
            self.kill_stream_node,
            self.restart_redis,
            self.stop_replica,
            self.kill_primary,
        ):
            self.fault_started = time.monotonic()
            try:
                fault()
            except Exception as error:  # noqa: BLE001 -- a fault that could not be run counts as failed
                self.result(fault.__name__.replace("_", " "), False, f"{type(error).__name__}: {error}")
        time.sleep(2)
        self.stop.set()
        acknowledged, lost = self.lost_sends()
        with self.ledger.lock:
            total = len(self.ledger.outcomes)
            failed = sum(not o.ok for o in self.ledger.outcomes)
            dead = list(self.ledger.dead)
        print(f"load: {total} requests, {failed} failed; {acknowledged} sends acknowledged")
        for line in dead:
            print(f"load thread died: {line}")
        for name, seconds in self.measured.items():
            print(f"measured: {name} {seconds:.1f}")
        survived = sum(ok for _, ok, _ in self.results)
        print(f"chaos: {survived}/5 faults survived, {lost} acknowledged sends lost", flush=True)
        return 0 if survived == 5 and lost == 0 and not dead else 1


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("state", type=Path, help="the cluster's folder (.relay/cluster)")
    parser.add_argument("--max-seconds", type=float, default=240, help="end the run after this long, whatever happens")
    arguments = parser.parse_args()

    def give_up() -> None:
        print(f"chaos: 0/5 faults survived: the run did not end within {arguments.max_seconds:.0f} s", flush=True)
        os._exit(1)

    watchdog = threading.Timer(arguments.max_seconds, give_up)
    watchdog.daemon = True
    watchdog.start()
    return Chaos(arguments.state).run()


if __name__ == "__main__":
    sys.exit(main())
