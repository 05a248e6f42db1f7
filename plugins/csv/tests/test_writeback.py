"""Write-back a shop can trust, on real files and real processes: links, owners, read-only files, locks,
the file's own status vocabulary and one rewrite per batch."""

from __future__ import annotations

import multiprocessing
import os
import pickle
import shutil
import stat
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from types import SimpleNamespace

import pytest

from unpaid.connector import BadSource, InvalidData, NotFound, Temporary
from unpaid.errors import ExitCode
from unpaid.model import Status

from unpaid_csv import writeback

from .conftest import DEMO_HEADER, build, write_csv
from .test_connector import row

ROOT = os.geteuid() == 0
NOBODY = 65534


def listing(folder):
    return sorted(p.name for p in folder.iterdir())


def test_write_back_through_a_symlink_rewrites_the_target_and_keeps_the_link(tmp_path):
    (tmp_path / "exports").mkdir()
    target = write_csv(tmp_path / "exports" / "orders-2026-11.csv", DEMO_HEADER, [row("1"), row("2")])
    link = tmp_path / "orders.csv"
    link.symlink_to(target)
    build(link).push_status("2", Status.PAID)
    assert link.is_symlink() and os.readlink(link) == str(target)
    assert ",paid," in target.read_text(encoding="utf-8").splitlines()[2]
    # The next export, written through the link target, is what the next read sees.
    write_csv(target, DEMO_HEADER, [row("1"), row("2"), row("3")])
    assert build(link).fetch_order("3").native_id == "3"
    assert listing(tmp_path) == ["exports", "orders.csv"]
    assert listing(tmp_path / "exports") == [".orders-2026-11.csv.lock", "orders-2026-11.csv"]


@pytest.mark.skipif(not ROOT, reason="only root can give a file to another owner")
def test_write_back_keeps_mode_owner_and_group(tmp_path):
    path = write_csv(tmp_path / "orders.csv", DEMO_HEADER, [row("1")])
    os.chown(path, 12345, 23456)
    os.chmod(path, 0o640)
    build(path).push_status("1", Status.PAID)
    after = os.stat(path)
    assert (after.st_uid, after.st_gid, stat.S_IMODE(after.st_mode)) == (12345, 23456, 0o640)
    lock = os.stat(tmp_path / ".orders.csv.lock")
    assert (lock.st_uid, lock.st_gid, stat.S_IMODE(lock.st_mode)) == (12345, 23456, 0o600)


def test_a_read_only_file_is_refused_with_exit_2_naming_the_file_and_the_fix(tmp_path):
    path = write_csv(tmp_path / "orders.csv", DEMO_HEADER, [row("1")])
    os.chmod(path, 0o444)
    before = path.read_bytes()
    with pytest.raises(BadSource) as err:
        build(path).push_status("1", Status.PAID)
    assert err.value.exit_code == ExitCode.USAGE == 2
    assert str(err.value) == (f"shop: orders.csv is read-only, so the change cannot be written to it — allow writing "
                              f"to it (chmod u+w {path}) or point [sources.shop] path at a writable copy, then run "
                              "the command again")
    assert path.read_bytes() == before and stat.S_IMODE(os.stat(path).st_mode) == 0o444
    assert listing(tmp_path) == ["orders.csv"]


@pytest.fixture
def shared_dir():
    """A folder another user may enter (pytest's tmp_path is root's alone)."""
    folder = tempfile.mkdtemp(prefix="unpaid-writeback-")
    os.chmod(folder, 0o755)
    yield Path(folder)
    shutil.rmtree(folder)


def as_other_user(func):
    """``func()``'s result, or its error as (type name, text), run as user nobody when we are root."""
    if not ROOT:
        try:
            return func()
        except Exception as exc:  # noqa: BLE001 - compared by the caller
            return type(exc).__name__, str(exc)
    read, write = os.pipe()
    pid = os.fork()
    if pid == 0:  # the child: drop to nobody, report through the pipe, never return into pytest
        try:
            os.close(read)
            os.setgid(NOBODY)
            os.setuid(NOBODY)
            try:
                answer = func()
            except Exception as exc:  # noqa: BLE001
                answer = type(exc).__name__, str(exc)
            os.write(write, pickle.dumps(answer))
        finally:
            os._exit(0)
    os.close(write)
    with os.fdopen(read, "rb") as pipe:
        data = pipe.read()
    os.waitpid(pid, 0)
    return pickle.loads(data)


def test_a_file_this_user_may_not_write_or_a_folder_it_may_not_create_files_in(shared_dir):
    path = write_csv(shared_dir / "orders.csv", DEMO_HEADER, [row("1")])
    os.chmod(path, 0o644)  # readable by all, writable by its owner only
    connector = build(path)
    if ROOT:
        kind, text = as_other_user(lambda: connector.push_status("1", Status.PAID))
        assert (kind, text.split(" — ")[0]) == ("BadSource", "shop: orders.csv is read-only, so the change cannot "
                                                             "be written to it")
    os.chmod(path, 0o666)  # the file is writable by all, but the folder is not
    if ROOT:
        kind, text = as_other_user(lambda: connector.push_status("1", Status.PAID))
        assert kind == "BadSource" and text.startswith("shop: cannot write beside orders.csv: Permission denied")
        assert "let this user create files in that folder" in text
    assert ",new," in path.read_text(encoding="utf-8") and listing(shared_dir) == ["orders.csv"]


def test_a_value_the_encoding_cannot_hold_fails_before_the_folder_is_touched(tmp_path):
    path = write_csv(tmp_path / "orders.csv", DEMO_HEADER, [row("1"), row("2")], encoding="cp1251")
    connector = build(path)
    connector.push_status("2", Status.PAID)  # creates the lock file
    before, folder = path.read_bytes(), os.stat(tmp_path).st_mtime_ns
    time.sleep(0.02)  # a temporary file created and removed now would move the folder's mtime
    with pytest.raises(InvalidData, match="'🙂' cannot be written in Windows-1251"):
        connector.update_contact("1", name="Anna 🙂")
    with pytest.raises(InvalidData, match="cannot be written in Windows-1251"):
        connector.push_status("1", Status.CANCELLED, "дорого 🙂")
    assert os.stat(tmp_path).st_mtime_ns == folder and path.read_bytes() == before


def _push_in_work(path, native_id, barrier, answers):
    connector = build(path)
    barrier.wait()
    try:
        connector.push_status(native_id, Status.IN_WORK)
        answers.put((native_id, None))
    except Exception as exc:  # noqa: BLE001 - reported to the test
        answers.put((native_id, f"{type(exc).__name__}: {exc}"))


def test_eight_processes_pushing_at_once_lose_no_write(tmp_path):
    path = write_csv(tmp_path / "orders.csv", DEMO_HEADER, [row(str(n)) for n in range(1, 201)])
    context = multiprocessing.get_context("fork")
    barrier, answers = context.Barrier(8), context.Queue()
    workers = [context.Process(target=_push_in_work, args=(path, str(n), barrier, answers)) for n in range(1, 9)]
    for worker in workers:
        worker.start()
    results = dict(answers.get(timeout=60) for _ in workers)
    for worker in workers:
        worker.join(10)
    assert results == {str(n): None for n in range(1, 9)}
    statuses = {o.native_id: o.status for o in build(path).fetch_many([str(n) for n in range(1, 10)]).values()}
    assert statuses == {**{str(n): Status.IN_WORK for n in range(1, 9)}, "9": Status.NEW}
    assert listing(tmp_path) == [".orders.csv.lock", "orders.csv"]
    assert stat.S_IMODE(os.stat(tmp_path / ".orders.csv.lock").st_mode) == 0o600


HOLD = """import fcntl, os, sys, time
fd = os.open(sys.argv[1], os.O_RDWR | os.O_CREAT, 0o600)
fcntl.flock(fd, fcntl.LOCK_EX)
print("locked", flush=True)
time.sleep(float(sys.argv[2]))
"""


def hold_lock(path, seconds):
    holder = subprocess.Popen([sys.executable, "-c", HOLD, str(path.parent / f".{path.name}.lock"), str(seconds)],
                              stdout=subprocess.PIPE, text=True)
    assert holder.stdout.readline() == "locked\n"
    return holder


def test_a_write_back_waits_for_the_one_holding_the_lock_then_gives_up(tmp_path, monkeypatch):
    path = write_csv(tmp_path / "orders.csv", DEMO_HEADER, [row("1"), row("2")])
    holder = hold_lock(path, 0.5)
    started = time.monotonic()
    build(path).push_status("1", Status.PAID)
    assert time.monotonic() - started >= 0.3
    holder.wait()

    monkeypatch.setattr(writeback, "LOCK_WAIT", 0.2)
    holder = hold_lock(path, 5)
    try:
        with pytest.raises(Temporary, match=r"another unpaid has been writing orders.csv for over 0 s \(it holds "):
            build(path).push_status("2", Status.PAID)
    finally:
        holder.kill()
        holder.wait()
    assert build(path).fetch_order("2").status is Status.NEW


def test_a_rewrite_is_started_again_while_another_program_changes_the_file():
    source = SimpleNamespace(name="shop", where="orders.csv")
    calls = []

    def changed_twice():
        calls.append(1)
        if len(calls) < 3:
            raise writeback.FileChanged
        return "written"

    assert writeback.retrying(changed_twice, source) == "written" and len(calls) == 3

    def always_changed():
        raise writeback.FileChanged

    with pytest.raises(Temporary, match="orders.csv kept changing while it was being written .3 tries. — try again"):
        writeback.retrying(always_changed, source)


VOCABULARY = ["1,New", "2,Cancelled", "3,false", "4,New", "5,Waiting for payment"]


def short_file(rows):
    return "id,status,created,amount,email\n" + "".join(f"{r},2026-11-20,4990,a@example.com\n" for r in rows)


@pytest.mark.parametrize("rows, native_id, status, written", [
    # English labels in most rows: a row holding the code "false" gets English too, never a mix.
    (VOCABULARY, "3", Status.FALSE, "3,False"),
    (VOCABULARY, "1", Status.PAYMENT_WAITING, "1,Waiting for payment"),
    # Codes in most rows: a stray label is replaced by a code.
    (["1,new", "2,cancelled", "3,New", "4,false"], "3", Status.FALSE, "3,false"),
    (["1,Новый", "2,false", "3,Отменен"], "2", Status.PAID, "2,Завершен"),
    # A tie goes to codes, then English.
    (["1,new", "2,New"], "2", Status.FALSE, "2,false"),
    (["1,Новый", "2,New"], "1", Status.FALSE, "1,False"),
    # Nothing but the shop's own labels: the canonical code.
    (["1,Ждём звонка", "2,Ждём звонка"], "1", Status.CANCELLED, "1,cancelled"),
])
def test_a_status_is_written_in_the_vocabulary_of_the_whole_file(tmp_path, rows, native_id, status, written):
    path = tmp_path / "orders.csv"
    path.write_text(short_file(rows), encoding="utf-8")
    build(path, statuses={"Ждём звонка": "in_work"}).push_status(native_id, status)
    expected = [written if r.startswith(f"{native_id},") else r for r in rows]
    assert path.read_text(encoding="utf-8") == short_file(expected)


def test_a_configured_label_wins_over_the_file_vocabulary(tmp_path):
    path = tmp_path / "orders.csv"
    path.write_text(short_file(["1,New", "2,New"]), encoding="utf-8")
    build(path, statuses={"Дубль": "false"}).push_status("1", Status.FALSE)
    assert path.read_text(encoding="utf-8") == short_file(["1,Дубль", "2,New"])


def test_a_batch_is_one_rewrite_and_fails_only_the_orders_it_cannot_write(tmp_path, replaces):
    path = write_csv(tmp_path / "orders.csv", DEMO_HEADER, [row(str(n)) for n in range(1, 7)], encoding="cp1251",
                     delimiter=";")
    results = build(path).push_statuses([("1", Status.FALSE, None), ("9", Status.FALSE, None),
                                         ("3", Status.CANCELLED, "Дорого"), ("4", Status.CANCELLED, "🙂"),
                                         ("6", Status.PAID, None)])
    assert {k: type(v).__name__ if v else None for k, v in results.items()} == {
        "1": None, "9": "NotFound", "3": None, "4": "BadSource", "6": None}
    assert str(results["9"]) == "shop: order 9 is not in orders.csv"
    assert replaces == [str(path)]
    orders = build(path).fetch_many([str(n) for n in range(1, 7)])
    assert {k: (o.status.value, o.cancel_reason) for k, o in orders.items()} == {
        "1": ("false", None), "2": ("new", None), "3": ("cancelled", "Дорого"), "4": ("new", None),
        "5": ("new", None), "6": ("paid", None)}


def test_fetch_many_reads_the_file_once_for_every_id(tmp_path):
    path = write_csv(tmp_path / "orders.csv", DEMO_HEADER, [row("1"), row("2", amount="dozen"), row("3")])
    found = build(path).fetch_many(["3", "404", "2", "1"])
    assert [found["3"].native_id, found["1"].native_id] == ["3", "1"]
    assert isinstance(found["404"], NotFound) and str(found["404"]) == "shop: order 404 is not in orders.csv"
    assert isinstance(found["2"], InvalidData) and str(found["2"]).startswith("shop: orders.csv:3: column 'amount': not an amount")


def test_a_write_back_to_a_missing_file_names_the_setting_and_creates_nothing(tmp_path):
    with pytest.raises(Temporary, match=r"orders.csv does not exist .* or fix `path` under \[sources.shop\]"):
        build(tmp_path / "orders.csv").push_status("1", Status.PAID)
    assert listing(tmp_path) == []


def test_a_file_this_user_may_not_read_is_a_setup_error_not_an_outage(shared_dir):
    path = write_csv(shared_dir / "orders.csv", DEMO_HEADER, [row("1")])
    os.chmod(path, 0o600)  # its owner's only
    connector = build(path)
    if ROOT:
        os.chown(path, 0, 0)
        kind, text = as_other_user(lambda: list(connector.fetch_orders(None)))
    else:
        os.chmod(path, 0)
        try:
            list(connector.fetch_orders(None))
        except Exception as exc:  # noqa: BLE001 - compared below
            kind, text = type(exc).__name__, str(exc)
    assert kind == "BadSource" and "orders.csv cannot be read: permission denied" in text
    assert BadSource.exit_code == 2


def test_of_two_rows_with_one_id_the_later_is_written_and_read(tmp_path):
    path = write_csv(tmp_path / "orders.csv", DEMO_HEADER, [row("7"), row("8"), row("7")])
    connector = build(path)
    connector.push_status("7", Status.PAID)
    statuses = [line.split(",")[3] for line in path.read_text(encoding="utf-8").splitlines()[1:]]
    assert statuses == ["new", "new", "paid"]
    assert connector.fetch_order("7").status is Status.PAID
    assert connector.fetch_many(["7"])["7"].status is Status.PAID
