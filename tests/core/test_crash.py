"""A `kill -9` leaves nothing half-written: an import, an alert scan and a manifest signature are stopped with
SIGKILL while they write, as a power cut or the OOM killer would stop them, and the database they leave is whole.

* Import (`wufei import organizations`, 10,000 rows): killed once as soon as it holds the write transaction and once
  a random moment later; each time the registry has no row of the file, and the import run again writes all.
* Alert scan (`wufei alerts scan --full`, 600 expired vehicle permits): killed once as soon as its first alert is
  visible to another connection and once at a random moment of the scan; the scan run again ends with the same
  alerts, notifications and audit events as a scan that was never interrupted (every opened alert notified once).
* Signature (the receiver's `process` step through `wufei serve`): the server is killed while the signature's
  transaction is open, and once at a random moment after the request; the manifest is then either signed, with
  its signature row, its audit event and its containers closed, or untouched.

After each kill `wufei audit verify` passes. "While they write" is seen from another connection: on SQLite the
write lock is held (BEGIN IMMEDIATE fails at once), on PostgreSQL a session of the database holds a transaction id.
SQLite always; PostgreSQL in the suite's PostgreSQL run.
"""

import csv
import json
import os
import random
import signal
import subprocess
import sys
import threading
import time
import urllib.error
import urllib.request

import pytest

from tests.core.scratch import ROOT, Probe, connect, environment, python, scalar, wufei
from wufei.core.ids import make_uscc

# each operation runs several times as a real process (a few minutes); one xdist worker shares the template
pytestmark = [pytest.mark.slow, pytest.mark.xdist_group("recovery")]

ORGANIZATIONS = 10000  # enough rows that the import's one write transaction lasts a few seconds
VEHICLES = 600


def start(url: str, work, *args) -> subprocess.Popen:
    """`wufei ARGS…` as a process group of its own (a server's workers die with it)."""
    return subprocess.Popen([sys.executable, "-m", "wufei", "--database", url, *args], cwd=ROOT,
                            env=environment(url, work), stdout=subprocess.PIPE, stderr=subprocess.STDOUT,
                            start_new_session=True)


def kill_when(process: subprocess.Popen, ready, *, delay: float = 0.0, seconds: float = 300) -> bool:
    """SIGKILL the process group `delay` seconds after `ready()` first holds; False if it finished before."""
    deadline = time.monotonic() + seconds
    while not ready():
        if process.poll() is not None:
            return False
        assert time.monotonic() < deadline, "the operation never started writing"
        time.sleep(0.002)
    time.sleep(delay)
    finished = process.poll() is not None
    try:
        os.killpg(process.pid, signal.SIGKILL)
    except ProcessLookupError:  # it ended (and was reaped) after the poll: nothing left to kill
        finished = True
    process.wait(timeout=30)
    process.stdout.close()
    return not finished


def verified(url: str, work) -> None:
    assert "chain intact" in wufei(url, work, "audit", "verify").stdout


def _csv(path, header, rows) -> None:
    with path.open("w", newline="", encoding="utf-8") as handle:
        writer = csv.writer(handle)
        writer.writerow(header)
        writer.writerows(rows)


def _uscc(number: int) -> str:
    return make_uscc("91", "500113", f"MK{number:07d}")


@pytest.fixture(scope="module")
def files(tmp_path_factory):
    folder = tmp_path_factory.mktemp("files")
    header = ["统一社会信用代码", "单位名称", "行政区划代码", "单位类型", "危险废物年产生量(吨)"]
    _csv(folder / "organizations.csv", header,
         [[_uscc(i), f"运输公司{i}", "500113", "运输单位", 0] for i in range(ORGANIZATIONS)])
    _csv(folder / "vehicles.csv", ["单位统一社会信用代码", "车牌号", "道路运输证号", "道路运输证有效期至"],
         [[_uscc(i), f"渝B{i:05d}", f"渝交运{i}", "2020-01-31"] for i in range(VEHICLES)])
    return folder


@pytest.fixture(scope="module")
def imported(databases, files, tmp_path_factory):
    """The import, killed twice while it writes, then run to the end: the database the scan starts from."""
    url, work = databases.new("import"), tmp_path_factory.mktemp("import")
    probe = Probe(url)
    try:
        for delay in (0.0, random.uniform(0.05, 0.5)):
            process = start(url, work, "import", "organizations", str(files / "organizations.csv"))
            assert kill_when(process, probe.writing, delay=delay), "the import ended before it was killed"
            probe.settle()
            assert probe.count("registry_organization") == 0, "a killed import left part of its rows"
            verified(url, work)
    finally:
        probe.close()
    done = wufei(url, work, "import", "organizations", str(files / "organizations.csv"))
    assert f"{ORGANIZATIONS} created" in done.stdout
    assert scalar(url, "SELECT COUNT(*) FROM registry_organization") == ORGANIZATIONS
    return url, work


def test_a_killed_import_writes_all_its_rows_or_none(imported):
    url, work = imported
    verified(url, work)


def _outcome(url: str) -> dict:
    """What a scan leaves, independent of ids and clocks: alerts, their notifications, their audit events."""
    db = connect(url)
    try:
        alerts = sorted(db.execute("SELECT rule_id, entity_id, status FROM alerts_alert").fetchall())
        notes = sorted(db.execute(
            "SELECT a.rule_id, a.entity_id, n.action, COALESCE(n.organization_id, 0), n.region_path "
            "FROM alerts_notification n JOIN alerts_alert a ON a.id = n.alert_id").fetchall())
        events = sorted(db.execute("SELECT action, COUNT(*) FROM core_auditevent WHERE entity_type = 'alerts.alert' "
                                   "GROUP BY action").fetchall())
    finally:
        db.close()
    return {"alerts": [tuple(r) for r in alerts], "notifications": [tuple(r) for r in notes],
            "events": [tuple(r) for r in events]}


def test_a_killed_alert_scan_run_again_ends_as_an_uninterrupted_one(imported, databases, files, tmp_path):
    base = databases.new("vehicles", source=imported[0])
    wufei(base, tmp_path, "import", "vehicles", str(files / "vehicles.csv"))
    reference = databases.new("reference", source=base)
    wufei(reference, tmp_path, "alerts", "scan", "--full")
    expected = _outcome(reference)
    assert len([a for a in expected["alerts"] if a[0] == "vehicle.permit_expired"]) == VEHICLES
    assert len(expected["notifications"]) >= 2 * VEHICLES  # the carrier and the region's regulators
    took = scalar(reference, "SELECT MAX(finished_at) FROM alerts_scanrun")
    started = scalar(reference, "SELECT MIN(started_at) FROM alerts_scanrun")
    seconds = _seconds(took) - _seconds(started)

    url = databases.new("scan", source=base)
    probe = Probe(url)
    try:
        first = start(url, tmp_path, "alerts", "scan", "--full")
        assert kill_when(first, lambda: probe.count("alerts_alert") > 0), "the scan ended before it was killed"
        probe.settle()
        verified(url, tmp_path)
        second = start(url, tmp_path, "alerts", "scan", "--full")
        kill_when(second, lambda: probe.count("alerts_scanrun") > 1, delay=random.uniform(0, seconds))
        probe.settle()
        verified(url, tmp_path)
    finally:
        probe.close()
    assert scalar(url, "SELECT COUNT(*) FROM alerts_scanrun WHERE finished_at IS NOT NULL") <= 1
    wufei(url, tmp_path, "alerts", "scan")  # as the worker's schedule would, incremental
    assert _outcome(url) == expected
    verified(url, tmp_path)


def _seconds(value) -> float:
    import datetime as dt

    if isinstance(value, str):
        value = dt.datetime.fromisoformat(value)
    return value.timestamp()


def _free_port() -> int:
    import socket

    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


def _call(base: str, token: str, method: str, path: str, body=None):
    request = urllib.request.Request(f"{base}/api/v1/{path}", method=method,
                                     data=None if body is None else json.dumps(body).encode(),
                                     headers={"Authorization": f"Bearer {token}", "Content-Type": "application/json"})
    try:
        with urllib.request.urlopen(request, timeout=60) as response:
            return response.status, json.loads(response.read())
    except urllib.error.HTTPError as error:
        return error.code, error.read()
    except (urllib.error.URLError, ConnectionError, TimeoutError) as error:  # the server was killed
        return None, error


def _signature_state(url: str, manifest: int) -> dict:
    """The manifest's status, its `process` signatures and their audit events, and its containers' statuses."""
    mark = "?" if url.startswith("sqlite") else "%s"
    db = connect(url)
    try:
        def rows(sql, value):
            return db.execute(sql.replace("?", mark), (value,)).fetchall()

        return {
            "status": rows("SELECT status FROM manifests_manifest WHERE id = ?", manifest)[0][0],
            "signatures": rows("SELECT COUNT(*) FROM manifests_signature WHERE manifest_id = ? AND step = 'process'",
                               manifest)[0][0],
            "events": rows("SELECT COUNT(*) FROM core_auditevent WHERE entity_type = 'manifests.manifest' AND "
                           "entity_id = ? AND action = 'signed_process'", str(manifest))[0][0],
            "containers": sorted(r[0] for r in rows(
                "SELECT c.status FROM tracking_container c JOIN manifests_manifestcontainer m ON m.container_id = c.id "
                "WHERE m.manifest_id = ?", manifest)),
        }
    finally:
        db.close()


def test_a_killed_server_leaves_a_manifest_signed_whole_or_untouched(databases, tmp_path):
    url = databases.new("signature")
    world = json.loads(python(url, tmp_path, "-m", "tests.core.world").strip().splitlines()[-1])
    manifest, token = world["manifest"], world["tokens"]["r"]
    before = _signature_state(url, manifest)
    assert before["status"] == "received" and before["signatures"] == before["events"] == 0
    probe = Probe(url)
    outcomes = []
    try:
        for attempt, delay in enumerate((0.0, random.uniform(0.0, 0.3))):
            port = _free_port()
            base = f"http://127.0.0.1:{port}"
            server = start(url, tmp_path, "serve", "--bind", f"127.0.0.1:{port}", "--workers", "1")
            _wait_for(base, server)
            status, shown = _call(base, token, "GET", f"manifests/{manifest}")  # the version the receiver sees
            assert status == 200, shown
            request = threading.Thread(target=_call, args=(base, token, "POST", f"manifests/{manifest}/sign", {
                "step": "process", "version": shown["version"], "data": {"method": "D10"}}))
            request.start()
            if attempt == 0:
                assert kill_when(server, probe.writing), "the server stopped by itself"
            else:
                time.sleep(delay)
                kill_when(server, lambda: True)
            request.join(timeout=60)
            probe.settle()
            state = _signature_state(url, manifest)
            outcomes.append(state["status"])
            if state["status"] == "received":
                assert state == before, f"attempt {attempt}: half a signature: {state}"
            else:
                assert state["status"] == "processed" and state["signatures"] == state["events"] == 1, state
                assert set(state["containers"]) != set(before["containers"]), state
            verified(url, tmp_path)
            if state["status"] == "processed":
                break
    finally:
        probe.close()
    assert outcomes[0] == "received"  # the first kill hit the open transaction: nothing of it stayed


def _wait_for(base: str, server: subprocess.Popen, seconds: float = 120) -> None:
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        assert server.poll() is None, server.stdout.read().decode()
        try:
            with urllib.request.urlopen(f"{base}/healthz", timeout=2) as response:
                if response.status == 200:
                    return
        except (urllib.error.URLError, ConnectionError, TimeoutError):
            pass
        time.sleep(0.2)
    raise AssertionError(f"{base} did not answer")
