"""`wufei backup FILE` and `wufei restore FILE`, run as the operator runs them (real processes, real databases).

A district with real content (units, accounts, recorded batches, a manifest signed through to received, a public
report with a photo) is backed up and restored into a new database: every table has the same number of rows, the
photo comes back byte for byte under the new MEDIA_ROOT, and `wufei audit verify` passes on the copy. A backup taken
while an import writes holds the database as it was before or after the import, never in between. A restore
refuses a damaged archive, one from a newer Wufei (migrations this code does not know) and a database that holds
data unless told `--force`. On SQLite always; on PostgreSQL in the suite's PostgreSQL run (pg_dump / pg_restore).
"""

import csv
import gzip
import io
import json
import subprocess
import sys
import tarfile
import time

import pytest

from tests.core.scratch import ROOT, Probe, environment, python, scalar, table_counts, wufei
from tests.core.world import PNG
from wufei.core.ids import make_uscc

# real `wufei` processes (a minute or two); one xdist worker shares the migrated template and the module's data
pytestmark = [pytest.mark.slow, pytest.mark.xdist_group("recovery")]


@pytest.fixture(scope="module")
def backed_up(databases, tmp_path_factory):
    """The district built in a new database, and its backup archive."""
    folder = tmp_path_factory.mktemp("backup")
    work = folder / "site"
    source = databases.new("source")
    world = json.loads(python(source, work, "-m", "tests.core.world").strip().splitlines()[-1])
    archive = folder / "wufei.tar.gz"
    made = wufei(source, work, "backup", str(archive))
    assert "1 uploaded files" in made.stdout, made.stdout
    return {"source": source, "work": work, "world": world, "archive": archive, "folder": folder}


def test_a_restored_copy_has_every_row_and_file_and_an_intact_audit_chain(backed_up, databases, tmp_path):
    target, work = databases.empty("copy"), tmp_path / "copy"
    restored = wufei(target, work, "restore", str(backed_up["archive"]))
    assert "1 written" in restored.stdout, restored.stdout
    counts = table_counts(target)
    assert counts == table_counts(backed_up["source"])
    assert counts["registry_organization"] == 3 and counts["tracking_container"] == 4 and counts["core_auditevent"] > 20
    assert scalar(target, "SELECT status FROM manifests_manifest") == "received"
    photo = backed_up["world"]["photo"]
    assert (work / "media" / photo).read_bytes() == (backed_up["work"] / "media" / photo).read_bytes() == PNG
    verified = wufei(target, work, "audit", "verify")
    assert "chain intact" in verified.stdout


def test_restore_replaces_a_database_that_holds_data_only_with_force(backed_up, databases, tmp_path):
    work = tmp_path / "site"
    target = databases.new("occupied")
    python(target, work, "-c", "import django; django.setup(); from django.contrib.auth.models import User; "
                               "User.objects.create_user('someone-else')")
    refused = wufei(target, work, "restore", str(backed_up["archive"]), check=False)
    assert refused.returncode != 0 and "--force" in refused.stderr
    assert scalar(target, "SELECT COUNT(*) FROM registry_organization") == 0  # untouched
    forced = wufei(target, work, "restore", "--force", str(backed_up["archive"]))
    assert "replaced" in forced.stdout
    assert table_counts(target) == table_counts(backed_up["source"])
    assert scalar(target, "SELECT COUNT(*) FROM auth_user WHERE username = 'someone-else'") == 0
    assert "chain intact" in wufei(target, work, "audit", "verify").stdout


def _rewritten(archive, folder, name, *, member=None, manifest=None):
    """A copy of the archive with one member's bytes or the manifest changed."""
    out = folder / name
    with tarfile.open(archive, "r:gz") as source, tarfile.open(out, "w:gz") as target:
        for info in source:
            data = source.extractfile(info).read()
            if member and info.name == member[0]:
                data = member[1](data)
            if manifest and info.name == "manifest.json":
                data = json.dumps(manifest(json.loads(data))).encode()
            info.size = len(data)
            target.addfile(info, io.BytesIO(data))
    return out


def test_restore_refuses_a_damaged_archive_and_one_from_a_newer_wufei(backed_up, databases, tmp_path):
    photo = "media/" + backed_up["world"]["photo"]
    damaged = _rewritten(backed_up["archive"], tmp_path, "damaged.tar.gz",
                         member=(photo, lambda data: data[:-1] + b"!"))
    newer = _rewritten(backed_up["archive"], tmp_path, "newer.tar.gz", manifest=lambda m: {
        **m, "migrations": {**m["migrations"], "manifests": [*m["migrations"]["manifests"], "0999_from_the_future"]}})
    truncated = tmp_path / "truncated.tar.gz"
    truncated.write_bytes(gzip.compress(backed_up["archive"].read_bytes()[:2000]))
    for archive, reason in ((damaged, "checksum"), (newer, "manifests.0999_from_the_future"),
                            (truncated, "not a Wufei backup")):
        target = databases.empty("refused")
        answer = wufei(target, tmp_path / "site", "restore", str(archive), check=False)
        assert answer.returncode != 0 and reason in answer.stderr, answer.stderr
        assert not (tmp_path / "site" / "media").exists()
        if target.startswith("sqlite"):
            assert not (tmp_path / "refused.sqlite3").exists()
        else:
            assert table_counts(target) == {}


def test_a_backup_taken_while_an_import_writes_holds_none_of_it_or_all(backed_up, databases, tmp_path):
    rows = 1500
    source, work = databases.new("busy", source=backed_up["source"]), tmp_path / "site"
    file = tmp_path / "organizations.csv"
    with file.open("w", newline="", encoding="utf-8") as handle:
        writer = csv.writer(handle)
        writer.writerow(["统一社会信用代码", "单位名称", "行政区划代码", "单位类型"])
        writer.writerows([make_uscc("91", "500113", f"MD{i:07d}"), f"备份期间单位{i}", "500113", "产废单位"]
                         for i in range(rows))
    importer = subprocess.Popen([sys.executable, "-m", "wufei", "--database", source, "import", "organizations",
                                 str(file)], cwd=ROOT, env=environment(source, work), stdout=subprocess.DEVNULL,
                                stderr=subprocess.DEVNULL)
    probe = Probe(source)
    try:
        deadline = time.monotonic() + 300
        while not probe.writing():  # the import holds its transaction open from here to its commit
            assert importer.poll() is None and time.monotonic() < deadline, "the import never started writing"
            time.sleep(0.005)
        archive = tmp_path / "busy.tar.gz"
        wufei(source, work, "backup", str(archive))
        during = importer.poll() is None  # the backup ended while the import's transaction was still open
        assert importer.wait(timeout=600) == 0
    finally:
        probe.close()
    target = databases.empty("busy-copy")
    wufei(target, tmp_path / "copy", "restore", str(archive))
    assert scalar(target, "SELECT COUNT(*) FROM registry_organization") in ((3,) if during else (3, 3 + rows))
    assert "chain intact" in wufei(target, tmp_path / "copy", "audit", "verify").stdout
