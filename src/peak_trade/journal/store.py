"""The session journal: an append-only SQLite file (WAL) of every event of every run.

Rows are written in one transaction per step, so after a crash (even `kill -9`) the file holds
whole steps only. Triggers refuse UPDATE and DELETE. The file is created by the first commit:
a command that fails before it writes anything leaves no journal behind. The tables, the
payloads' encoding and the integrity check are in `schema`.
"""

from __future__ import annotations

import contextlib
import fcntl
import hashlib
import os
import sqlite3
import weakref
from collections.abc import Iterable, Iterator, Mapping
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from typing import Any

from peak_trade.core.clock import Clock, SystemClock
from peak_trade.core.errors import ConfigError, JournalWriteError
from peak_trade.core.files import is_plain_name, unwritable
from peak_trade.journal.schema import (
    BY_INDEX,
    BY_SPANS,
    INDEXED,
    SCHEMA,
    SPANS,
    PendingRow,
    add_spans,
    check_intact,
    damaged,
    decode,
    leg_parent,
    to_json,
)

__all__ = ["Journal", "JournalEvent"]


@dataclass(frozen=True, slots=True)
class JournalEvent:
    """One row of the journal."""

    seq: int
    run_id: str
    kind: str
    ts_event: str | None
    ts_init: str
    payload: dict[str, Any]


# the longest run id that names its lock file as it is (a file name holds 255 bytes)
_MAX_LOCK_NAME = 200


def _digest(text: str) -> str:
    return hashlib.sha256(text.encode()).hexdigest()


def _close_locks(claimed: dict[str, int]) -> None:
    """Close the lock files of claimed runs (which gives up the claims) and forget them."""
    for fd in claimed.values():
        os.close(fd)
    claimed.clear()


class Journal:
    """Appends events to one SQLite file; reads them back by run."""

    def __init__(
        self, path: str | Path, clock: Clock | None = None, *, read_only: bool = False
    ) -> None:
        self.path = Path(path)
        # a reader opens the file read-only: it works in a read-only folder, and cannot harm it
        self.read_only = read_only
        self._clock = clock or SystemClock()
        self._pending: list[PendingRow] = []
        self._now: datetime | None = None
        self._now_text = ""
        self._event_time: datetime | None = None
        self._event_text: str | None = None
        self._db: sqlite3.Connection | None = None
        self._spans = True  # whether a run's events are found by spans (known once opened)
        self.failed = False  # a commit could not be written (a full disk, an I/O error)
        # the lock files of the runs this journal claimed: their descriptors, and what closes
        # them (close(), or the journal being collected, which gives up its claims)
        self._claimed: dict[str, int] = {}
        self._locks: weakref.finalize[[dict[str, int]], Journal] | None = None
        try:
            exists = self.path.exists()
        except OSError as error:  # a name too long for the file system, a loop of links
            raise ConfigError(
                f"cannot open the journal {self.path}: {error.strerror or error}"
            ) from None
        if self.path.is_dir():
            raise ConfigError(
                f"cannot open the journal {self.path}: it is a folder; expected a journal "
                "file such as journal/session.sqlite"
            )
        if exists:
            self._db = self._open()
        elif not read_only:
            self._check_creatable()

    def _check_creatable(self) -> None:
        """Fail now, not at the first commit, if the file could not be created."""
        folder = unwritable(self.path.parent)
        if folder is not None:
            raise ConfigError(
                f"cannot open the journal {self.path}: {folder} is not a writable folder"
            )

    def _open(self) -> sqlite3.Connection:
        """Open the file, checked for damage (`PRAGMA quick_check`); a writer also makes the
        tables, a reader changes nothing."""
        try:
            db = self._connect_reading() if self.read_only else self._connect_writing()
            check_intact(db, self.path)
            if not self.read_only:
                db.executescript(SCHEMA)
            self._spans = db.execute(INDEXED).fetchone() is None
            if self._spans and not self.read_only:
                db.executescript(SPANS)
        except sqlite3.DatabaseError as error:
            if "malformed" in str(error):
                raise ConfigError(damaged(self.path, error)) from None
            raise ConfigError(f"cannot open the journal {self.path}: {error}") from None
        except OSError as error:
            raise ConfigError(f"cannot open the journal {self.path}: {error}") from None
        return db

    def _connect_writing(self) -> sqlite3.Connection:
        self.path.parent.mkdir(parents=True, exist_ok=True)
        db = sqlite3.connect(self.path, isolation_level=None)
        db.execute("PRAGMA journal_mode=WAL")
        db.execute("PRAGMA synchronous=NORMAL")
        # checkpoint the WAL into the file every 16 MB rather than 4 MB
        db.execute("PRAGMA wal_autocheckpoint=4000")
        return db

    def _connect_reading(self) -> sqlite3.Connection:
        """Open read-only; in a folder nobody may write to, as immutable (a WAL file needs its
        index file beside it, which could not be made there, and no writer can be at work)."""
        uri = f"{self.path.resolve().as_uri()}?mode=ro"
        if unwritable(self.path.parent) is not None:
            uri += "&immutable=1"
        return sqlite3.connect(uri, uri=True, isolation_level=None)

    def _reader(self) -> sqlite3.Connection | None:
        """Return the connection, or None while no file exists (nothing to read)."""
        if self._db is None and self.path.exists():
            self._db = self._open()
        return self._db

    def append(
        self, run_id: str, kind: str, ts_event: datetime | None, payload: Mapping[str, Any]
    ) -> None:
        """Queue an event; it is written by the next `commit`."""
        self.append_json(run_id, kind, ts_event, to_json(payload))

    def append_json(
        self,
        run_id: str,
        kind: str,
        ts_event: datetime | None,
        text: str,
        *,
        written: str | None = None,
    ) -> None:
        """Queue an event whose payload is already encoded exactly as `to_json` encodes it;
        `written`: the time it is stamped with (ISO text) instead of the clock's."""
        if ts_event is not self._event_time:  # the events of one bar share its time
            self._event_time = ts_event
            self._event_text = ts_event.isoformat() if ts_event else None
        if written is None:
            written = self.now_text()
        self._pending.append((run_id, kind, self._event_text, written, text))

    def append_rows(self, rows: Iterable[PendingRow]) -> None:
        """Queue events given whole: run id, kind, event time and the time written (ISO
        text), and the payload encoded exactly as `to_json` encodes it."""
        self._pending.extend(rows)

    def now_text(self) -> str:
        """Return the clock's time now as the journal writes it."""
        now = self._clock.now()
        if now != self._now:  # a backtest's clock stands still for all events of a bar
            self._now, self._now_text = now, now.isoformat()
        return self._now_text

    def commit(self) -> None:
        """Write the queued events in one transaction."""
        if not self._pending:
            return
        rows, self._pending = self._pending, []
        db = self._db = self._db or self._open()
        try:
            db.execute("BEGIN")
            db.executemany(
                "INSERT INTO events (run_id, kind, ts_event, ts_init, payload) "
                "VALUES (?, ?, ?, ?, ?)",
                rows,
            )
            if self._spans:
                add_spans(db, rows)
            db.execute("COMMIT")
        except sqlite3.Error as error:
            if db.in_transaction:  # SQLite may have rolled back already (a full disk does)
                with contextlib.suppress(sqlite3.Error):
                    db.execute("ROLLBACK")
            self.failed = True
            raise JournalWriteError(f"cannot write the journal {self.path}: {error}") from None

    def discard(self) -> None:
        """Drop the queued events: what failed before its first commit leaves no trace."""
        self._pending = []

    def claim(self, run_id: str) -> None:
        """Hold run `run_id` for this process until it exits or closes the journal.

        A second process that claims the same run (a resume while the run is still going on
        elsewhere) gets a ConfigError: two processes would write one run's events in turns
        and trade it twice. The claim is a lock on a file of its own,
        `<journal>.locks/<run id>`, so two runs never share one; the system drops it when the
        process ends, even by kill -9.
        """
        if run_id in self._claimed:
            return
        path = self.lock_path(run_id)
        try:
            path.parent.mkdir(parents=True, exist_ok=True)
            fd = os.open(path, os.O_RDWR | os.O_CREAT, 0o644)
        except OSError as error:
            raise ConfigError(
                f"cannot lock run {run_id} in {path}: {error.strerror or error}"
            ) from None
        try:
            fcntl.lockf(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except OSError:  # held by another process
            os.close(fd)
            raise ConfigError(
                f"run {run_id} is being run by another process on the journal {self.path}; "
                "stop it (Ctrl+C or SIGTERM) before resuming it"
            ) from None
        if self._locks is None:
            self._locks = weakref.finalize(self, _close_locks, self._claimed)
        self._claimed[run_id] = fd

    def lock_path(self, run_id: str) -> Path:
        """Return the file whose lock holds run `run_id`: named by the run id itself, or by
        its SHA-256 where the id is no plain file name."""
        plain = is_plain_name(run_id) and len(run_id.encode()) <= _MAX_LOCK_NAME
        name = run_id if plain else "sha256-" + _digest(run_id)
        return Path(f"{self.path}.locks") / name

    def events(self, run_id: str, *kinds: str) -> Iterator[JournalEvent]:
        """Yield the events of a run in order, optionally only of the given kinds."""
        columns = "e.seq, e.run_id, e.kind, e.ts_event, e.ts_init, e.payload"
        query = f"SELECT {columns} FROM {self._runs}"  # noqa: S608 - constants only
        args: list[str] = [run_id]
        if kinds:
            query += f" AND e.kind IN ({', '.join('?' for _ in kinds)})"
            args.extend(kinds)
        db = self._reader()
        if db is None:
            return
        rows = db.execute(query + " ORDER BY e.seq", args)
        for seq, run, kind, ts_event, ts_init, payload in rows:
            yield JournalEvent(seq, run, kind, ts_event, ts_init, decode(payload))

    @property
    def _runs(self) -> str:
        return BY_SPANS if self._spans else BY_INDEX

    def run_started(self, run_id: str) -> JournalEvent:
        """Return the `run_started` event of run `run_id`; a ConfigError if there is none."""
        event = next(self.events(run_id, "run_started"), None)
        if event is not None:
            return event
        # a run writes nothing before its warmup is done: one stopped earlier is not there
        never = "a run stopped before its warmup ended is not journaled: start it again"
        if not self.path.exists():
            raise ConfigError(
                f"no journal at {self.path}; name the one the run wrote with --journal ({never})"
            )
        known = ", ".join(self.run_ids()) or "none"
        raise ConfigError(f"no run {run_id!r} in the journal {self.path} (runs: {known}); {never}")

    def last(self, run_id: str, *kinds: str) -> JournalEvent | None:
        """Return the run's latest event of `kinds`, or None."""
        columns = "e.seq, e.run_id, e.kind, e.ts_event, e.ts_init, e.payload"
        marks = ", ".join("?" for _ in kinds)
        query = f"SELECT {columns} FROM {self._runs} AND e.kind IN ({marks})"  # noqa: S608
        db = self._reader()
        row = (
            None
            if db is None
            else db.execute(query + " ORDER BY e.seq DESC LIMIT 1", (run_id, *kinds)).fetchone()
        )
        if row is None:
            return None
        seq, run, kind, ts_event, ts_init, payload = row
        return JournalEvent(seq, run, kind, ts_event, ts_init, decode(payload))

    def total(self, run_id: str, kind: str, field: str) -> int:
        """Return the sum of a whole-number payload `field` over the run's `kind` events."""
        return int(self._aggregate("SUM", run_id, kind, field))

    def total_amount(self, run_id: str, kind: str, field: str) -> float:
        """Return the sum of a decimal-text payload `field` (a fee, say), as a float."""
        return self._aggregate("SUM", run_id, kind, field, cast="REAL")

    def tally(self, run_id: str, kind: str, path: str) -> dict[str, int]:
        """Return how many of the run's `kind` events hold each value at JSON `path`."""
        db = self._reader()
        if db is None:
            return {}
        query = (
            f"SELECT json_extract(e.payload, ?), COUNT(*) FROM {self._runs} "  # noqa: S608
            "AND e.kind = ? GROUP BY 1"
        )
        return {str(value): int(n) for value, n in db.execute(query, (path, run_id, kind))}

    def _aggregate(
        self, function: str, run_id: str, kind: str, field: str, cast: str = ""
    ) -> float:
        db = self._reader()
        if db is None:
            return 0.0
        value = "json_extract(e.payload, '$.' || ?)"
        value = f"CAST({value} AS {cast})" if cast else value
        query = (
            f"SELECT COALESCE({function}({value}), 0) "  # noqa: S608 - constants only
            f"FROM {self._runs} AND e.kind = ?"
        )
        return float(db.execute(query, (field, run_id, kind)).fetchone()[0])

    def held_elsewhere(self, run_id: str) -> bool:
        """Return whether another process holds run `run_id` now (`claim`): it is running.
        Asked with a shared lock taken and dropped at once, which a claim never waits on."""
        if run_id in self._claimed:
            return False
        try:
            fd = os.open(self.lock_path(run_id), os.O_RDONLY)
        except OSError:  # no lock file: never claimed
            return False
        try:
            fcntl.lockf(fd, fcntl.LOCK_SH | fcntl.LOCK_NB)
        except OSError:
            return True
        finally:
            os.close(fd)
        return False

    def count(self, run_id: str, kind: str) -> int:
        """Return how many events of `kind` a run has."""
        db = self._reader()
        if db is None:
            return 0
        query = f"SELECT COUNT(*) FROM {self._runs} AND e.kind = ?"  # noqa: S608 - constants
        row = db.execute(query, (run_id, kind)).fetchone()
        return int(row[0])

    def run_ids(self) -> list[str]:
        """Return the runs in the journal, oldest first (a portfolio's, not its legs')."""
        db = self._reader()
        if db is None:
            return []
        if self._spans:
            rows = db.execute("SELECT run_id FROM spans GROUP BY run_id ORDER BY MIN(first_seq)")
        else:
            rows = db.execute("SELECT run_id FROM events GROUP BY run_id ORDER BY MIN(seq)")
        ids = [row[0] for row in rows]
        known = set(ids)  # a portfolio's legs are journaled as runs of their own: not listed
        return [run_id for run_id in ids if leg_parent(run_id) not in known]

    def close(self) -> None:
        """Write what is queued, close the file and give up the runs this journal claimed."""
        self.commit()
        if self._db is not None:
            self._db.close()
            self._db = None
        if self._locks is not None:
            self._locks()  # closing the descriptors gives up every claim
            self._locks = None

    def __enter__(self) -> Journal:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()
