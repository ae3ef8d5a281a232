"""Scratch databases for tests that run `wufei` as real processes (backups, crashes).

On SQLite each database is a file; on PostgreSQL (the suite's run with WUFEI_DATABASE_URL set) each is a database
of its own on that server, named after the suite's database, created by the test and dropped after it. A migrated
template is made once per test session (migrating takes a while) and copied for each database that needs one.
"""

import os
import sqlite3
import subprocess
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
SECRET = "recovery-test-" + "s" * 50


def postgres_url() -> str | None:
    url = os.environ.get("WUFEI_DATABASE_URL", "")
    return url if url.startswith("postgres") else None


def environment(database_url: str, work: Path, **extra) -> dict:
    work.mkdir(parents=True, exist_ok=True)
    env = {key: value for key, value in os.environ.items() if not key.startswith(("WUFEI_", "DJANGO_"))}
    env.update({"WUFEI_DATABASE_URL": database_url, "WUFEI_QUEUE_URL": f"sqlite:///{work}/queue.sqlite3",
                "WUFEI_WORK_DIR": str(work), "WUFEI_SECRET_KEY": SECRET, "DJANGO_SETTINGS_MODULE": "wufei.settings",
                "WUFEI_LOG_LEVEL": "WARNING", **extra})
    return env


def wufei(database_url: str, work: Path, *args, check=True, timeout=600, **extra) -> subprocess.CompletedProcess:
    """Run `python -m wufei --database URL ARGS…` in the work folder's environment (MEDIA_ROOT is work/media)."""
    result = subprocess.run([sys.executable, "-m", "wufei", "--database", database_url, *args], cwd=ROOT,
                            env=environment(database_url, work, **extra), capture_output=True, text=True,
                            timeout=timeout)
    if check:
        assert result.returncode == 0, f"wufei {' '.join(args)}:\n{result.stdout}\n{result.stderr}"
    return result


def python(database_url: str, work: Path, *args, timeout=600) -> str:
    result = subprocess.run([sys.executable, *args], cwd=ROOT, env=environment(database_url, work),
                            capture_output=True, text=True, timeout=timeout)
    assert result.returncode == 0, result.stdout + result.stderr
    return result.stdout


class Databases:
    """new(name) → URL of a fresh database holding the migrated template; empty(name) → URL of one with nothing."""

    def __init__(self, folder: Path, tag: str):
        self.folder, self.tag, self.made = folder, tag, []
        self.server = postgres_url()
        self.template = None

    def _pg(self):
        import psycopg

        return psycopg.connect(self.server.replace("postgres://", "postgresql://", 1), autocommit=True)

    def _pg_name(self, name: str) -> str:
        base = self.server.rsplit("/", 1)[1].split("?")[0]
        return f"{base}_{self.tag}_{name}_{os.getpid()}"

    def url(self, name: str) -> str:
        if self.server:
            return f"{self.server.rsplit('/', 1)[0]}/{self._pg_name(name)}"
        return f"sqlite:///{self.folder / name}.sqlite3"

    def prepare_template(self) -> None:
        self.template = self.empty("template")
        wufei(self.template, self.folder, "migrate", "-v", "0")

    def empty(self, name: str) -> str:
        url = self.url(name)
        if self.server:
            with self._pg() as db:
                db.execute(f'DROP DATABASE IF EXISTS "{self._pg_name(name)}" WITH (FORCE)')
                db.execute(f'CREATE DATABASE "{self._pg_name(name)}"')
            self.made.append(name)
        else:
            Path(url.removeprefix("sqlite:///")).unlink(missing_ok=True)
        return url

    def new(self, name: str, source: str | None = None) -> str:
        """A copy of the migrated template (or of the database at `source`, a URL this object made)."""
        source = source or self.template
        url = self.url(name)
        if self.server:
            with self._pg() as db:
                db.execute(f'DROP DATABASE IF EXISTS "{self._pg_name(name)}" WITH (FORCE)')
                db.execute(f'CREATE DATABASE "{self._pg_name(name)}" TEMPLATE "{source.rsplit("/", 1)[1]}"')
            self.made.append(name)
        else:
            with sqlite3.connect(source.removeprefix("sqlite:///")) as src, \
                    sqlite3.connect(url.removeprefix("sqlite:///")) as dst:
                src.backup(dst)
            src.close()
            dst.close()
        return url

    def drop_all(self) -> None:
        if self.server:
            with self._pg() as db:
                for name in self.made:
                    db.execute(f'DROP DATABASE IF EXISTS "{self._pg_name(name)}" WITH (FORCE)')


def connect(url: str):
    """A DB-API connection to a scratch database (sqlite3 or psycopg)."""
    if url.startswith("sqlite:///"):
        return sqlite3.connect(url.removeprefix("sqlite:///"), timeout=30)
    import psycopg

    return psycopg.connect(url.replace("postgres://", "postgresql://", 1), autocommit=True)


def scalar(url: str, sql: str, params=()):
    db = connect(url)
    try:
        return db.execute(sql, params).fetchone()[0]
    finally:
        db.close()


def table_counts(url: str) -> dict[str, int]:
    db = connect(url)
    try:
        if url.startswith("sqlite:///"):
            tables = [r[0] for r in db.execute("SELECT name FROM sqlite_master WHERE type='table' AND name NOT LIKE "
                                               "'sqlite_%'")]
        else:
            tables = [r[0] for r in db.execute("SELECT tablename FROM pg_tables WHERE schemaname='public'")]
        return {table: db.execute(f'SELECT COUNT(*) FROM "{table}"').fetchone()[0] for table in sorted(tables)}
    finally:
        db.close()


class Probe:
    """Tells from another connection whether someone is inside a write transaction on the database."""

    def __init__(self, url: str):
        self.url = url
        if url.startswith("sqlite:///"):
            self.db = sqlite3.connect(url.removeprefix("sqlite:///"), timeout=0, isolation_level=None)
        else:
            self.db = connect(url)

    def writing(self) -> bool:
        if self.url.startswith("sqlite:///"):
            try:
                self.db.execute("BEGIN IMMEDIATE")
            except sqlite3.OperationalError as error:
                if "locked" in str(error):
                    return True
                raise
            self.db.execute("ROLLBACK")
            return False
        return self.db.execute("SELECT COUNT(*) FROM pg_stat_activity WHERE datname = current_database() AND "
                               "backend_xid IS NOT NULL AND pid <> pg_backend_pid()").fetchone()[0] > 0

    def count(self, table: str) -> int:
        return self.db.execute(f"SELECT COUNT(*) FROM {table}").fetchone()[0]

    def settle(self) -> None:
        """After a kill: wait until the server has rolled back what the killed client left open (PostgreSQL)."""
        if self.url.startswith("sqlite:///"):
            return
        deadline = time.monotonic() + 60
        while self.db.execute("SELECT COUNT(*) FROM pg_stat_activity WHERE datname = current_database() AND "
                              "pid <> pg_backend_pid()").fetchone()[0]:
            assert time.monotonic() < deadline, "the killed client's session did not end"
            time.sleep(0.1)

    def close(self):
        self.db.close()
