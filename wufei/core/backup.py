"""Backups: one archive holding the database, the uploaded files and a manifest; and the way back from it.

The archive is a gzip'd tar file:

* `database.sqlite3` — on SQLite, a copy made with SQLite's online backup API (consistent while the server
  runs and writes), or `database.pgdump` — on PostgreSQL, `pg_dump --format=custom`;
* `media/…` — every file under MEDIA_ROOT (evidence, photos, alert attachments, job products such as reports);
* `manifest.json` (last, so each member's SHA-256 is computed as it is written) — format version, Wufei
  version, database engine, the migrations applied per app, the time it was made, and size and SHA-256 of
  every member.

`restore` reads the manifest, checks every member against its checksum and the migrations against the code's
before it touches anything, refuses to replace a database that holds data unless forced, loads the database
(SQLite: the backup API again, into the target file; PostgreSQL: `pg_restore --clean --if-exists --no-owner` in
one transaction) and writes the files back under MEDIA_ROOT. PostgreSQL tools get the connection through PG*
environment variables, never a password on the command line.
"""

import datetime as dt
import hashlib
import io
import json
import os
import re
import shutil
import sqlite3
import subprocess
import tarfile
import tempfile
from dataclasses import dataclass, field
from pathlib import Path, PurePosixPath

from django.conf import settings
from django.db import connection

import wufei

FORMAT = 1
MANIFEST = "manifest.json"
MEDIA = "media/"
SQLITE_MEMBER = "database.sqlite3"
PG_MEMBER = "database.pgdump"
CHUNK = 1 << 20


class BackupError(Exception):
    """A backup that cannot be made or an archive that must not be restored; the message says why."""


@dataclass
class BackupResult:
    path: Path
    engine: str
    database_bytes: int
    files: int
    file_bytes: int
    migrations: int


@dataclass
class RestoreResult:
    engine: str
    created_at: str
    wufei_version: str
    database_bytes: int
    files_written: int = 0
    files_unchanged: int = 0
    file_bytes: int = 0
    replaced_data: bool = False
    pending_migrations: list[str] = field(default_factory=list)


def human_size(count: int) -> str:
    return f"{count / 2**20:.1f} MB" if count >= 2**20 else f"{count / 2**10:.1f} KB"


# --- backup ---------------------------------------------------------------------------------------------

def engine() -> str:
    vendor = connection.vendor
    if vendor not in ("sqlite", "postgresql"):
        raise BackupError(f"backups support SQLite and PostgreSQL, not {vendor}")
    return vendor


def create_backup(*, path: Path) -> BackupResult:
    """Write the archive to `path` (through a temporary file beside it: a failed backup leaves no archive)."""
    path = Path(path)
    kind = engine()
    path.parent.mkdir(parents=True, exist_ok=True)
    with tempfile.TemporaryDirectory(prefix="wufei-backup-", dir=path.parent) as work:
        work = Path(work)
        extra = {}
        if kind == "sqlite":
            database, member = work / SQLITE_MEMBER, SQLITE_MEMBER
            _sqlite_copy(source=Path(settings.DATABASES["default"]["NAME"]), target=database)
            migrations = _sqlite_migrations(database)
        else:
            database, member = work / PG_MEMBER, PG_MEMBER
            migrations = applied_migrations()
            extra["pg_dump_major"] = _pg_dump(database)
        partial = work / "archive.partial"
        members: dict[str, dict] = {}
        files = file_bytes = 0
        with tarfile.open(partial, "w:gz", compresslevel=6) as archive:
            members[member] = _add_file(archive, member, database)
            for relative, source in _media_files(exclude=work):
                entry = _add_file(archive, MEDIA + relative, source)
                if entry is None:  # deleted while the backup ran
                    continue
                members[MEDIA + relative] = entry
                files += 1
                file_bytes += entry["size"]
            manifest = {
                "format": FORMAT, "wufei_version": wufei.__version__, "engine": kind,
                "created_at": dt.datetime.now(dt.UTC).isoformat(timespec="seconds"),
                "database": member, "migrations": migrations, "members": members, **extra,
            }
            data = json.dumps(manifest, ensure_ascii=False, indent=1, sort_keys=True).encode()
            info = tarfile.TarInfo(MANIFEST)
            info.size, info.mtime, info.mode = len(data), int(dt.datetime.now().timestamp()), 0o600
            archive.addfile(info, io.BytesIO(data))
        os.replace(partial, path)
    return BackupResult(path=path, engine=kind, database_bytes=members[member]["size"], files=files,
                        file_bytes=file_bytes, migrations=sum(len(names) for names in migrations.values()))


def _sqlite_copy(*, source: Path, target: Path) -> None:
    """Copy a live SQLite database page by page (the online backup API: a consistent snapshot)."""
    if not source.exists():
        raise BackupError(f"there is no database at {source}")
    connection.close()
    src, dst = sqlite3.connect(source, timeout=30), sqlite3.connect(target)
    try:
        # one step: a read transaction on one snapshot (in WAL mode the server keeps writing meanwhile); a copy in
        # several steps would start over after every write of the server's and might never end on a busy day
        src.backup(dst)
    finally:
        src.close()
        dst.close()


def _sqlite_migrations(database: Path) -> dict[str, list[str]]:
    with sqlite3.connect(database) as db:
        rows = db.execute("SELECT app, name FROM django_migrations ORDER BY app, id").fetchall()
    db.close()
    return _grouped(rows)


def applied_migrations() -> dict[str, list[str]]:
    from django.db.migrations.recorder import MigrationRecorder

    recorder = MigrationRecorder(connection)
    if not recorder.has_table():
        return {}
    return _grouped(recorder.migration_qs.order_by("app", "id").values_list("app", "name"))


def _grouped(rows) -> dict[str, list[str]]:
    grouped: dict[str, list[str]] = {}
    for app, name in rows:
        grouped.setdefault(app, []).append(name)
    return grouped


def _media_files(*, exclude: Path):
    root = Path(settings.MEDIA_ROOT)
    if not root.is_dir():
        return
    for directory, subdirs, names in os.walk(root):
        subdirs[:] = sorted(d for d in subdirs if (Path(directory) / d).resolve() != exclude.resolve())
        for name in sorted(names):
            source = Path(directory) / name
            if source.is_file() and not source.is_symlink():
                yield source.relative_to(root).as_posix(), source


class _Hashing(io.RawIOBase):
    def __init__(self, handle):
        self.handle, self.digest = handle, hashlib.sha256()

    def readable(self):
        return True

    def read(self, size=-1):
        data = self.handle.read(size)
        self.digest.update(data)
        return data


def _add_file(archive: tarfile.TarFile, name: str, source: Path) -> dict | None:
    try:
        handle = source.open("rb")
    except FileNotFoundError:
        return None
    with handle:
        stat = os.fstat(handle.fileno())
        info = tarfile.TarInfo(name)
        info.size, info.mtime, info.mode = stat.st_size, int(stat.st_mtime), 0o600
        reader = _Hashing(handle)
        archive.addfile(info, reader)
    return {"size": info.size, "sha256": reader.digest.hexdigest()}


# --- PostgreSQL tools -----------------------------------------------------------------------------------

def pg_environment() -> dict:
    """The connection for pg_dump / pg_restore, as libpq's environment variables (no password in argv)."""
    database = settings.DATABASES["default"]
    env = {key: value for key, value in os.environ.items() if not key.startswith("PG")}
    for variable, key in (("PGHOST", "HOST"), ("PGPORT", "PORT"), ("PGUSER", "USER"), ("PGPASSWORD", "PASSWORD"),
                          ("PGDATABASE", "NAME")):
        if database.get(key):
            env[variable] = str(database[key])
    if database.get("OPTIONS", {}).get("sslmode"):
        env["PGSSLMODE"] = database["OPTIONS"]["sslmode"]
    return env


def _tool_major(tool: str) -> int:
    """The major version of pg_dump / pg_restore ("pg_dump (PostgreSQL) 15.20 (Debian …)" → 15)."""
    if shutil.which(tool) is None:
        raise BackupError(f"{tool} is not installed (Debian: apt-get install postgresql-client)")
    output = subprocess.run([tool, "--version"], capture_output=True, text=True, check=True).stdout
    found = re.search(r"(\d+)(?:\.\d+)?", output)
    if not found:
        raise BackupError(f"cannot tell the version of {tool} from {output!r}")
    return int(found.group(1))


def _server_major() -> int:
    connection.ensure_connection()
    return connection.pg_version // 10000


def _pg_dump(target: Path) -> int:
    client, server = _tool_major("pg_dump"), _server_major()
    if client < server:
        raise BackupError(f"pg_dump {client} cannot dump a PostgreSQL {server} server: install the PostgreSQL "
                          f"client {server} or newer")
    _run_tool(["pg_dump", "--format=custom", f"--file={target}"])
    return client


def _run_tool(argv: list[str]) -> None:
    result = subprocess.run(argv, env=pg_environment(), capture_output=True, text=True)
    if result.returncode != 0:
        raise BackupError(f"{argv[0]} failed: {result.stderr.strip()[-2000:]}")


# --- restore --------------------------------------------------------------------------------------------

def read_manifest(path: Path) -> dict:
    """The archive's manifest, after checking the archive is one this code can restore."""
    path = Path(path)
    if not path.is_file():
        raise BackupError(f"no such file: {path}")
    try:
        with tarfile.open(path, "r:gz") as archive:
            member = archive.getmember(MANIFEST)
            manifest = json.loads(archive.extractfile(member).read())
    except (tarfile.TarError, KeyError, OSError, EOFError, ValueError) as exc:
        raise BackupError(f"{path.name} is not a Wufei backup archive ({exc})") from exc
    if manifest.get("format") != FORMAT:
        raise BackupError(f"{path.name} is a backup of format {manifest.get('format')}; this Wufei reads "
                          f"format {FORMAT}")
    for name in manifest.get("members", {}):
        if name != manifest.get("database") and not _safe_media_name(name):
            raise BackupError(f"{path.name} names a file outside the uploads folder: {name!r}")
    return manifest


def _safe_media_name(name: str) -> str | None:
    if not name.startswith(MEDIA):
        return None
    relative = PurePosixPath(name[len(MEDIA):])
    if relative.is_absolute() or not relative.parts or any(part in ("", ".", "..") for part in relative.parts):
        return None
    return relative.as_posix()


def verify_archive(path: Path, manifest: dict) -> None:
    """Every member the manifest lists is there with its SHA-256 and size, and nothing else is."""
    expected = dict(manifest["members"])
    seen = set()
    with tarfile.open(path, "r:gz") as archive:
        for member in archive:
            if member.name == MANIFEST:
                continue
            entry = expected.get(member.name)
            if entry is None or not member.isfile():
                raise BackupError(f"{Path(path).name}: {member.name!r} is not in the manifest")
            digest, size = hashlib.sha256(), 0
            handle = archive.extractfile(member)
            while chunk := handle.read(CHUNK):
                digest.update(chunk)
                size += len(chunk)
            if digest.hexdigest() != entry["sha256"] or size != entry["size"]:
                raise BackupError(f"{Path(path).name}: {member.name} does not match its checksum: the archive is "
                                  "damaged")
            seen.add(member.name)
    missing = sorted(set(expected) - seen)
    if missing:
        raise BackupError(f"{Path(path).name} lacks {len(missing)} member(s) its manifest lists: {missing[0]} …")


def newer_migrations(manifest: dict) -> list[str]:
    """Migrations the archive's database has that this code does not know (it was made by a newer Wufei)."""
    from django.db.migrations.loader import MigrationLoader

    known = set(MigrationLoader(None, ignore_no_migrations=True).disk_migrations)
    return [f"{app}.{name}" for app, names in sorted(manifest.get("migrations", {}).items()) for name in names
            if (app, name) not in known]


def pending_migrations(manifest: dict) -> list[str]:
    from django.db.migrations.loader import MigrationLoader

    applied = {(app, name) for app, names in manifest.get("migrations", {}).items() for name in names}
    return sorted(f"{app}.{name}" for app, name in MigrationLoader(None, ignore_no_migrations=True).disk_migrations
                  if (app, name) not in applied)


def database_holds_data() -> bool:
    """Whether the target database has anything a restore would destroy: an organization, an account or an audit
    event (an empty or freshly migrated database has none)."""
    from django.contrib.auth import get_user_model

    from wufei.core.models import AuditEvent
    from wufei.registry.models import Organization

    if connection.vendor == "sqlite":
        name = Path(settings.DATABASES["default"]["NAME"])
        if not name.exists() or name.stat().st_size == 0:
            return False
    tables = set(connection.introspection.table_names())
    with connection.cursor() as cursor:
        for model in (Organization, get_user_model(), AuditEvent):
            table = model._meta.db_table
            if table in tables:
                cursor.execute(f"SELECT 1 FROM {connection.ops.quote_name(table)} LIMIT 1")
                if cursor.fetchone():
                    return True
    return False


def restore_backup(*, path: Path, force: bool = False) -> RestoreResult:
    """Check the archive whole, then replace the database and write the files back (see the module docstring)."""
    path = Path(path)
    manifest = read_manifest(path)
    kind = engine()
    if manifest.get("engine") != kind:
        raise BackupError(f"{path.name} holds a {manifest.get('engine')} database; this Wufei runs on {kind}: "
                          "restore it into a database of the same kind")
    verify_archive(path, manifest)
    newer = newer_migrations(manifest)
    if newer:
        raise BackupError(f"{path.name} was made by a newer Wufei ({manifest.get('wufei_version')}): its database "
                          f"has migrations this code does not know ({', '.join(newer[:5])}). Restore it with that "
                          "version or a later one.")
    if kind == "postgresql":
        client = _tool_major("pg_restore")
        if client < int(manifest.get("pg_dump_major") or 0):
            raise BackupError(f"{path.name} was written by pg_dump {manifest['pg_dump_major']}; pg_restore {client} "
                              "cannot read it: install a newer PostgreSQL client")
    holds_data = database_holds_data()
    if holds_data and not force:
        raise BackupError("the database already holds data (organizations, accounts or audit events); a restore "
                          "replaces all of it with the archive's. Give --force to do so, after a backup of it.")
    result = RestoreResult(engine=kind, created_at=manifest.get("created_at", ""),
                           wufei_version=manifest.get("wufei_version", ""),
                           database_bytes=manifest["members"][manifest["database"]]["size"], replaced_data=holds_data)
    with tarfile.open(path, "r:gz") as archive, tempfile.TemporaryDirectory(prefix="wufei-restore-") as work:
        database = Path(work) / manifest["database"]
        with archive.extractfile(manifest["database"]) as source, database.open("wb") as target:
            shutil.copyfileobj(source, target, CHUNK)
        if kind == "sqlite":
            _sqlite_restore(database)
        else:
            _pg_restore(database)
        _restore_media(archive, manifest, result)
    result.pending_migrations = pending_migrations(manifest)
    return result


def _sqlite_restore(database: Path) -> None:
    with sqlite3.connect(database) as check:
        verdict = check.execute("PRAGMA quick_check").fetchone()[0]
    check.close()
    if verdict != "ok":
        raise BackupError(f"the archive's database is damaged: {verdict}")
    connection.close()
    target = Path(settings.DATABASES["default"]["NAME"])
    target.parent.mkdir(parents=True, exist_ok=True)
    source, destination = sqlite3.connect(database), sqlite3.connect(target, timeout=30)
    try:
        source.backup(destination)  # page by page under the target's write lock: other connections see old or new
        destination.execute("PRAGMA journal_mode=WAL")
    finally:
        source.close()
        destination.close()


def _pg_restore(database: Path) -> None:
    connection.close()
    name = settings.DATABASES["default"]["NAME"]
    _run_tool(["pg_restore", "--clean", "--if-exists", "--no-owner", "--single-transaction", "--exit-on-error",
               f"--dbname={name}", str(database)])


def _restore_media(archive: tarfile.TarFile, manifest: dict, result: RestoreResult) -> None:
    root = Path(settings.MEDIA_ROOT)
    for name, entry in sorted(manifest["members"].items()):
        relative = _safe_media_name(name) if name != manifest["database"] else None
        if relative is None:
            continue
        target = root / relative
        result.file_bytes += entry["size"]
        if target.is_file() and target.stat().st_size == entry["size"] and _sha256(target) == entry["sha256"]:
            result.files_unchanged += 1
            continue
        target.parent.mkdir(parents=True, exist_ok=True)
        partial = target.with_name(target.name + ".restoring")
        with archive.extractfile(name) as source, partial.open("wb") as handle:
            shutil.copyfileobj(source, handle, CHUNK)
        os.replace(partial, target)
        result.files_written += 1


def _sha256(path: Path) -> str:
    digest = hashlib.sha256()
    with path.open("rb") as handle:
        while chunk := handle.read(CHUNK):
            digest.update(chunk)
    return digest.hexdigest()
