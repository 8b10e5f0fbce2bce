"""The journal: append-only, exact round trips, whole steps only."""

from __future__ import annotations

import json
import math
import os
import shutil
import sqlite3
import subprocess
import sys
import zlib
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import timedelta
from decimal import Decimal
from pathlib import Path

import pytest

from peak_trade.core.clock import ManualClock
from peak_trade.core.errors import ConfigError, JournalWriteError
from peak_trade.journal.schema import to_json
from peak_trade.journal.store import Journal
from peak_trade.orders.base import OrderStatus
from peak_trade.testing.builders import START


def test_each_event_carries_the_clock_time_it_was_appended_at(tmp_path: Path) -> None:
    clock = ManualClock(START)
    with Journal(tmp_path / "j.sqlite", clock=clock) as journal:
        journal.append("r1", "a", None, {})
        journal.append("r1", "b", None, {})
        clock.advance(timedelta(seconds=90))
        journal.append("r1", "c", None, {})
        journal.commit()
        stamps = [event.ts_init for event in journal.events("r1")]
    later = (START + timedelta(seconds=90)).isoformat()
    assert stamps == [START.isoformat(), START.isoformat(), later]


def test_rows_given_whole_or_with_their_time_keep_the_times_given(tmp_path: Path) -> None:
    later = (START + timedelta(minutes=1)).isoformat()
    with Journal(tmp_path / "j.sqlite", clock=ManualClock(START)) as journal:
        journal.append_json("r1", "bar", START, '{"c":1.0}', written=later)
        journal.append_rows([("r1", "fill", later, later, '{"price":"2"}')])
        journal.append_json("r1", "bar", None, "{}")
        journal.commit()
        events = list(journal.events("r1"))
    assert [(e.kind, e.ts_event, e.ts_init, e.payload) for e in events] == [
        ("bar", START.isoformat(), later, {"c": 1.0}),
        ("fill", later, later, {"price": "2"}),
        ("bar", None, START.isoformat(), {}),
    ]


def test_events_round_trip_exactly_in_order(tmp_path: Path) -> None:
    with Journal(tmp_path / "j.sqlite", clock=ManualClock(START)) as journal:
        journal.append("r1", "bar", START, {"c": 50006.04342056739, "cash": Decimal("0.50025")})
        journal.append("r1", "fill", START, {"price": Decimal("50025.0")})
        journal.append("r2", "bar", None, {"c": 1.0})
        journal.commit()
        events = list(journal.events("r1"))
        assert [e.kind for e in events] == ["bar", "fill"]
        assert events[0].payload == {"c": 50006.04342056739, "cash": "0.50025"}
        assert events[0].ts_event == START.isoformat()
        assert events[0].ts_init == START.isoformat()
        assert [e.kind for e in journal.events("r1", "fill")] == ["fill"]
        assert journal.count("r1", "bar") == 1
        assert journal.run_ids() == ["r1", "r2"]


def test_payload_values_are_encoded_as_text_or_exact_numbers() -> None:
    payload = {
        "t": START + timedelta(microseconds=5),
        "status": OrderStatus.FILLED,
        "quantity": Decimal("0E-8"),
        "price": 0.1,
        "small": 1e-05,
        "path": Path("journal/a.sqlite"),
        "undefined": math.nan,
    }
    text = to_json(payload)
    assert list(json.loads(text)) == sorted(payload)  # sorted keys, whatever the order given
    assert json.loads(text) == {
        "t": (START + timedelta(microseconds=5)).isoformat(),
        "status": "filled",
        "quantity": "0E-8",
        "price": 0.1,
        "small": 1e-05,
        "path": "journal/a.sqlite",
        "undefined": None,  # standard JSON has no NaN
    }


@dataclass(frozen=True)
class _Unjournaled:
    value: int


@pytest.mark.parametrize("value", [_Unjournaled(1), {1, 2}, object()])
def test_a_value_the_journal_cannot_encode_is_refused_with_its_keys(value: object) -> None:
    with pytest.raises(TypeError, match=r"cannot journal \['a', 'b'\]"):
        to_json({"b": value, "a": 1})


def test_rows_cannot_be_changed_or_deleted(tmp_path: Path) -> None:
    path = tmp_path / "j.sqlite"
    with Journal(path) as journal:
        journal.append("r1", "bar", START, {"c": 1.0})
    db = sqlite3.connect(path)
    with pytest.raises(sqlite3.DatabaseError, match="the journal is append-only"):
        db.execute("UPDATE events SET kind = 'x'")
    with pytest.raises(sqlite3.DatabaseError, match="the journal is append-only"):
        db.execute("DELETE FROM events")
    for change in ("UPDATE spans SET last_seq = 9", "DELETE FROM spans"):
        with pytest.raises(sqlite3.DatabaseError, match="the journal is append-only"):
            db.execute(change)
    db.close()


def test_runs_written_by_two_journals_on_one_file_read_back_apart(tmp_path: Path) -> None:
    # Arrange: two writers (as two processes would) take turns, each commit one transaction
    path = tmp_path / "j.sqlite"
    first, second = Journal(path, clock=ManualClock(START)), Journal(path, clock=ManualClock(START))
    for step in range(4):
        for journal, run in ((first, "a"), (second, "b")):
            journal.append(run, "bar", None, {"n": step})
            journal.append(run, "fill", None, {"n": step})
            journal.commit()

    # Act
    runs = {run: [(e.kind, e.payload["n"]) for e in first.events(run)] for run in ("a", "b")}
    counts = (second.count("a", "fill"), second.count("b", "bar"), second.run_ids())
    db = sqlite3.connect(path)
    spans = db.execute("SELECT run_id, last_seq - first_seq + 1 FROM spans").fetchall()
    indexes = db.execute(
        "SELECT name FROM sqlite_master WHERE tbl_name = 'events' AND type = 'index'"
    ).fetchall()
    db.close()
    first.close()
    second.close()

    # Assert: one span per run and commit, and no index entry per event
    expected = [(kind, n) for n in range(4) for kind in ("bar", "fill")]
    assert runs == {"a": expected, "b": expected}
    assert counts == (4, 4, ["a", "b"])
    assert spans == [("a", 2), ("b", 2)] * 4
    assert indexes == []


def test_uncommitted_events_are_not_in_the_file(tmp_path: Path) -> None:
    path = tmp_path / "j.sqlite"
    journal = Journal(path)
    journal.append("r1", "bar", START, {"c": 1.0})
    journal.commit()
    journal.append("r1", "bar", START, {"c": 2.0})  # a crash now loses only this step
    reader = Journal(path)
    assert reader.count("r1", "bar") == 1
    reader.close()
    journal.close()


def test_file_uses_write_ahead_logging(tmp_path: Path) -> None:
    path = tmp_path / "j.sqlite"
    with Journal(path) as journal:
        journal.append("r1", "bar", START, {"c": 1.0})
    mode = sqlite3.connect(path).execute("PRAGMA journal_mode").fetchone()[0]
    assert mode == "wal"


def test_no_file_is_created_until_the_first_commit(tmp_path: Path) -> None:
    path = tmp_path / "journal" / "j.sqlite"
    journal = Journal(path)
    journal.append("r1", "run_started", START, {"config": {}})

    # reading a journal that does not exist yet finds nothing and creates nothing
    assert journal.run_ids() == []
    assert journal.count("r1", "run_started") == 0
    assert list(journal.events("r1")) == []
    journal.discard()
    journal.close()
    assert not (tmp_path / "journal").exists()

    with Journal(path) as journal:
        journal.append("r1", "run_started", START, {"config": {}})
        journal.commit()
        assert journal.run_ids() == ["r1"]


def test_unwritable_location_is_a_clear_error(tmp_path: Path) -> None:
    blocker = tmp_path / "file"
    blocker.write_text("x")
    with pytest.raises(ConfigError, match=r"cannot open the journal .*is not a writable folder"):
        Journal(blocker / "j.sqlite")
    with pytest.raises(ConfigError, match=r"cannot open the journal .*is not a writable folder"):
        Journal(blocker / "deeper" / "j.sqlite")


def test_a_folder_given_as_the_journal_is_a_clear_error(tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match="it is a folder; expected a journal file"):
        Journal(tmp_path)


def test_a_file_that_is_not_a_journal_is_refused_and_left_as_it_was(tmp_path: Path) -> None:
    data = tmp_path / "bars.csv"
    data.write_text("time,open\n")
    with pytest.raises(ConfigError, match=r"bars\.csv: file is not a database"):
        Journal(data)
    assert data.read_text() == "time,open\n"


def test_interleaved_runs_read_back_by_run_and_kind_in_the_order_written(tmp_path: Path) -> None:
    with Journal(tmp_path / "j.sqlite", clock=ManualClock(START)) as journal:
        for step in range(30):  # three runs, three kinds, ten commits
            for run in ("a", "b", "c"):
                journal.append(run, ("bar", "fill", "order")[step % 3], None, {"n": step})
            if step % 3 == 2:
                journal.commit()
        journal.commit()
        fills = [e.payload["n"] for e in journal.events("b", "fill")]
        both = [(e.kind, e.payload["n"]) for e in journal.events("c", "bar", "order")]
        seqs = [e.seq for e in journal.events("a")]

    assert fills == list(range(1, 30, 3))
    assert both == [(("bar", "fill", "order")[n % 3], n) for n in range(30) if n % 3 != 1]
    assert seqs == sorted(seqs)
    assert len(set(seqs)) == 30


def test_a_journal_with_the_earlier_schema_reads_and_appends_as_before(tmp_path: Path) -> None:
    # Arrange: a file as journals were created before: AUTOINCREMENT, an index by kind
    path = tmp_path / "old.sqlite"
    db = sqlite3.connect(path)
    db.executescript(
        """
        CREATE TABLE events (
            seq INTEGER PRIMARY KEY AUTOINCREMENT, run_id TEXT NOT NULL, kind TEXT NOT NULL,
            ts_event TEXT, ts_init TEXT NOT NULL, payload TEXT NOT NULL);
        CREATE INDEX events_by_run ON events (run_id, kind, seq);
        INSERT INTO events (run_id, kind, ts_event, ts_init, payload)
            VALUES ('r', 'fill', NULL, '2024-01-01T00:00:00+00:00', '{"n":1}');
        """
    )
    db.close()

    # Act
    with Journal(path, clock=ManualClock(START)) as journal:
        journal.append("r", "fill", None, {"n": 2})
        journal.append("r", "bar", None, {"n": 3})
        journal.commit()
        fills = [(e.seq, e.payload["n"]) for e in journal.events("r", "fill")]

    # Assert: the old table and index are kept, and the new rows follow the old ones
    db = sqlite3.connect(path)
    schema = " ".join(row[0] for row in db.execute("SELECT sql FROM sqlite_master") if row[0])
    db.close()
    assert "AUTOINCREMENT" in schema
    assert "(run_id, kind, seq)" in schema
    assert fills == [(1, 1), (2, 2)]


def test_payloads_of_older_journals_with_nan_still_read_back(tmp_path: Path) -> None:
    # Arrange: a row as the standard library's encoder wrote a NaN before orjson (not JSON),
    # in a journal of that time (indexed by run: no spans)
    db = sqlite3.connect(tmp_path / "j.sqlite")
    db.executescript(
        """
        CREATE TABLE events (
            seq INTEGER PRIMARY KEY, run_id TEXT NOT NULL, kind TEXT NOT NULL,
            ts_event TEXT, ts_init TEXT NOT NULL, payload TEXT NOT NULL);
        CREATE INDEX events_by_run ON events (run_id);
        """
    )
    db.close()
    with Journal(tmp_path / "j.sqlite", clock=ManualClock(START)) as journal:
        journal.append("r", "bar", None, {"c": 0.1 + 0.2})
        journal.commit()
    db = sqlite3.connect(tmp_path / "j.sqlite")
    db.execute(
        "INSERT INTO events (run_id, kind, ts_event, ts_init, payload) "
        "VALUES ('r', 'bar', NULL, '2024-01-01T00:00:00+00:00', '{\"c\": NaN, \"n\": 2}')"
    )
    db.commit()
    db.close()

    # Act
    with Journal(tmp_path / "j.sqlite") as journal:
        first, second = (event.payload for event in journal.events("r"))

    # Assert: exact floats from the fast decoder, and the old NaN through the fallback
    assert first == {"c": 0.30000000000000004}
    assert math.isnan(second["c"])
    assert second["n"] == 2


def _journal_with_rows(path: Path, rows: int) -> None:
    with Journal(path) as journal:
        for i in range(rows):
            journal.append("run", "bar", None, {"i": i, "text": "x" * 200})
            if i % 100 == 99:
                journal.commit()


def test_a_damaged_journal_is_refused_for_writing_and_reading_and_left_as_it_was(
    tmp_path: Path,
) -> None:
    # Arrange: 4 KB overwritten in the middle of a journal
    path = tmp_path / "j.sqlite"
    _journal_with_rows(path, 2_000)
    data = bytearray(path.read_bytes())
    middle = len(data) // 2 // 4096 * 4096
    data[middle : middle + 4096] = bytes(range(256)) * 16
    path.write_bytes(bytes(data))

    # Act / Assert: neither a writer nor a reader takes it; the file is not touched
    for read_only in (False, True):
        with pytest.raises(ConfigError, match=r"the journal .*j\.sqlite is damaged \("):
            Journal(path, read_only=read_only)
    assert path.read_bytes() == bytes(data)


@contextmanager
def _read_only(folder: Path) -> Iterator[None]:
    """Make `folder` read-only for this process: by mode bits, or (root ignores those) as a
    read-only bind mount of itself."""
    if os.geteuid() != 0:
        folder.chmod(0o555)
        try:
            yield
        finally:
            folder.chmod(0o755)
        return
    mount, umount = shutil.which("mount"), shutil.which("umount")
    bind = [str(mount), "--bind", str(folder), str(folder)]
    if not (mount and umount) or subprocess.run(bind, capture_output=True).returncode != 0:
        pytest.skip("root cannot make a read-only folder here: mount --bind is not allowed")
    try:
        remount = [mount, "-o", "remount,bind,ro", str(folder)]
        subprocess.run(remount, capture_output=True, check=True)
        yield
    finally:
        subprocess.run([umount, str(folder)], capture_output=True, check=True)


def test_a_reader_opens_a_journal_in_a_read_only_folder(tmp_path: Path) -> None:
    folder = tmp_path / "archive"
    folder.mkdir()
    _journal_with_rows(folder / "j.sqlite", 300)
    with _read_only(folder), Journal(folder / "j.sqlite", read_only=True) as journal:
        assert journal.run_ids() == ["run"]
        assert journal.count("run", "bar") == 300
        assert [p.name for p in folder.iterdir()] == ["j.sqlite"]


def test_a_read_only_journal_refuses_to_write(tmp_path: Path) -> None:
    _journal_with_rows(tmp_path / "j.sqlite", 10)
    with Journal(tmp_path / "j.sqlite", read_only=True) as journal:
        journal.append("run", "bar", None, {"i": 10})
        with pytest.raises(JournalWriteError, match="attempt to write a readonly database"):
            journal.commit()
    with Journal(tmp_path / "j.sqlite") as journal:
        assert journal.count("run", "bar") == 10


def _claimed_elsewhere(path: Path, run_id: str) -> subprocess.Popen[str]:
    """Start a process that claims `run_id` in the journal at `path` and holds it."""
    code = (
        "import sys, time\n"
        "from peak_trade.journal.store import Journal\n"
        f"journal = Journal({str(path)!r})\n"
        f"journal.claim({run_id!r})\n"
        "print('claimed', flush=True)\n"
        "sys.stdin.read()\n"
    )
    process = subprocess.Popen(
        [sys.executable, "-c", code], stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True
    )
    assert process.stdout is not None
    assert process.stdout.readline() == "claimed\n"
    return process


@pytest.mark.parametrize("run_id", ["plumless", "a run/with odd: characters"])
def test_a_run_held_by_another_process_cannot_be_claimed_until_it_ends(
    tmp_path: Path, run_id: str
) -> None:
    path = tmp_path / "j.sqlite"
    process = _claimed_elsewhere(path, run_id)
    try:
        with pytest.raises(ConfigError, match="is being run by another process"):
            Journal(path).claim(run_id)
    finally:
        process.communicate("")
    journal = Journal(path)
    journal.claim(run_id)  # the process ended: its claim with it
    journal.close()


def test_runs_whose_ids_share_a_crc32_are_held_apart(tmp_path: Path) -> None:
    # "plumless" and "buckeroo" have the same CRC32: their claims once locked the same byte
    assert zlib.crc32(b"plumless") == zlib.crc32(b"buckeroo")
    path = tmp_path / "j.sqlite"
    process = _claimed_elsewhere(path, "plumless")
    try:
        journal = Journal(path)
        journal.claim("buckeroo")
        assert journal.lock_path("buckeroo").exists()
        journal.close()
    finally:
        process.communicate("")
