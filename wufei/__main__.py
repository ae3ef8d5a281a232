"""The `wufei` command: Django's manage.py under the product's name.

`wufei --database URL COMMAND …` sets the database for one command (else WUFEI_DATABASE_URL, else the SQLite
file wufei.sqlite3 in WUFEI_WORK_DIR or the current folder). A command never creates an SQLite database by
accident: only `migrate`, `demo` and `restore` may start from a missing file; any other command names the file
it did not find and how to create it.
"""

import os
import sys
from pathlib import Path

MAY_CREATE = {"migrate", "demo", "restore"}
NO_DATABASE = {"help", "version", "--help", "-h", "--version", "compilemessages", "makemessages", "collectstatic",
               "makemigrations", "check"}


def _take_database(argv: list[str]) -> list[str]:
    """Remove `--database URL` (or --database=URL) from argv and put it in the environment."""
    out, index = [], 0
    while index < len(argv):
        arg = argv[index]
        if arg == "--database" and index + 1 < len(argv):
            os.environ["WUFEI_DATABASE_URL"] = argv[index + 1]
            index += 2
            continue
        if arg.startswith("--database="):
            os.environ["WUFEI_DATABASE_URL"] = arg.split("=", 1)[1]
            index += 1
            continue
        out.append(arg)
        index += 1
    return out


def _missing_sqlite_file(command: str) -> str | None:
    from django.conf import settings

    database = settings.DATABASES["default"]
    name = str(database.get("NAME") or "")
    if not database["ENGINE"].endswith("sqlite3") or not name or name == ":memory:" or name.startswith("file:"):
        return None
    if command in MAY_CREATE or command in NO_DATABASE or Path(name).exists():
        return None
    return name


def main() -> None:
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "wufei.settings")
    argv = _take_database(list(sys.argv))
    argv[0] = "wufei"
    command = argv[1] if len(argv) > 1 else "help"
    import django

    django.setup()
    missing = _missing_sqlite_file(command)
    if missing:
        sys.stderr.write(f"wufei {command}: there is no database at {missing}.\n"
                         "Set WUFEI_DATABASE_URL (or pass --database URL) to the database to use, or create this "
                         "one with `wufei migrate` (and `wufei demo` for the demo district).\n")
        sys.exit(2)
    from django.core.management import execute_from_command_line

    execute_from_command_line(argv)


if __name__ == "__main__":
    main()
