"""Running Wufei for real: the settings refuse what production must not run on, errors leave a trace, the health
check tells the truth, pages carry a Content Security Policy that allows no inline script, and a command never
creates a database by accident."""

import logging
import os
import re
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
TEMPLATES = sorted((ROOT / "wufei").glob("*/templates/**/*.html"))


def _wufei(*args, env=None, cwd=None):
    environment = {key: value for key, value in os.environ.items() if not key.startswith(("WUFEI_", "DJANGO_"))}
    environment.update(env or {})
    return subprocess.run([sys.executable, "-m", "wufei", *args], cwd=cwd or ROOT, env=environment,
                          capture_output=True, text=True, timeout=120)


def test_production_settings_refuse_the_development_key(tmp_path):
    refused = _wufei("check", env={"WUFEI_DATABASE_URL": f"sqlite:///{tmp_path}/x.sqlite3"})
    assert refused.returncode != 0 and "WUFEI_SECRET_KEY" in refused.stderr
    development = _wufei("check", env={"WUFEI_SECRET_KEY": "wufei-development-key-change-me-in-production-0123456789",
                                       "WUFEI_DATABASE_URL": f"sqlite:///{tmp_path}/x.sqlite3"})
    assert development.returncode != 0 and "WUFEI_SECRET_KEY" in development.stderr
    debug = _wufei("check", env={"WUFEI_DEBUG": "1", "WUFEI_DATABASE_URL": f"sqlite:///{tmp_path}/x.sqlite3"})
    assert debug.returncode == 0, debug.stderr


def test_check_deploy_is_clean_as_the_readme_configures_it(tmp_path):
    """The README's deployment variables (TLS proxy, secure cookies, HSTS, trusted origins) pass `check --deploy`."""
    readme = (ROOT / "README.md").read_text(encoding="utf-8")
    for name in ("WUFEI_SECRET_KEY", "WUFEI_HTTPS", "WUFEI_ALLOWED_HOSTS", "WUFEI_BASE_URL", "wufei check --deploy"):
        assert name in readme, name
    result = _wufei("check", "--deploy", "--fail-level", "WARNING", env={
        "WUFEI_SECRET_KEY": "x7Qv9-" * 10, "WUFEI_HTTPS": "1", "WUFEI_ALLOWED_HOSTS": "wufei.example.gov.cn",
        "WUFEI_BASE_URL": "https://wufei.example.gov.cn", "WUFEI_DATABASE_URL": f"sqlite:///{tmp_path}/x.sqlite3"})
    assert result.returncode == 0, result.stdout + result.stderr
    assert "no issues" in result.stdout


def test_a_command_never_creates_a_database_it_was_not_asked_for(tmp_path):
    env = {"WUFEI_SECRET_KEY": "k" * 60}
    missing = tmp_path / "elsewhere.sqlite3"
    answer = _wufei("alerts", "scan", env={**env, "WUFEI_DATABASE_URL": f"sqlite:///{missing}"}, cwd=tmp_path)
    assert answer.returncode == 2 and str(missing) in answer.stderr and "WUFEI_DATABASE_URL" in answer.stderr
    assert not missing.exists()
    from_folder = _wufei("alerts", "scan", env=env, cwd=tmp_path)  # the default: ./wufei.sqlite3 of that folder
    assert from_folder.returncode == 2 and not (tmp_path / "wufei.sqlite3").exists()
    target = tmp_path / "new.sqlite3"
    made = _wufei("--database", f"sqlite:///{target}", "migrate", "-v", "0", env=env, cwd=tmp_path)
    assert made.returncode == 0, made.stderr
    scanned = _wufei("--database", f"sqlite:///{target}", "alerts", "scan", env=env, cwd=tmp_path)
    assert scanned.returncode == 0, scanned.stderr
    assert "alerts opened" in scanned.stdout


@pytest.mark.django_db
def test_an_unhandled_error_is_logged_with_its_traceback_and_request_id(client_for, make_user, monkeypatch, caplog):
    from wufei.web import views

    def broken(scope):
        raise ZeroDivisionError("the page broke")

    monkeypatch.setattr(views, "_main_page", broken)
    client = client_for(make_user())
    client.raise_request_exception = False
    logger = logging.getLogger("django.request")  # it does not propagate to the root logger caplog listens on
    logger.addHandler(caplog.handler)
    try:
        answer = client.get("/", HTTP_X_REQUEST_ID="probe-1234567")
    finally:
        logger.removeHandler(caplog.handler)
    assert answer.status_code == 500 and answer["X-Request-ID"] == "probe-1234567"
    assert "probe-1234567" in answer.content.decode()
    [record] = [r for r in caplog.records if r.name == "django.request"]
    assert record.exc_info and record.exc_info[0] is ZeroDivisionError
    assert record.request_id == "probe-1234567"


@pytest.mark.django_db
def test_health_check_answers_for_the_database_and_the_queue(client, monkeypatch):
    from wufei.core import jobs

    healthy = client.get("/healthz")
    assert healthy.status_code == 200 and healthy.json() == {"status": "ok", "database": "ok", "queue": "ok"}
    monkeypatch.setattr(jobs, "queue_is_reachable", lambda: False)
    down = client.get("/healthz")
    assert down.status_code == 503 and down.json()["queue"] == "down"


@pytest.mark.django_db
def test_pages_forbid_inline_script(client):
    policy = client.get("/portal/")["Content-Security-Policy"]
    script = re.search(r"script-src ([^;]*)", policy).group(1)
    assert "'self'" in script and "unsafe-inline" not in script and "unsafe-eval" not in script
    assert "frame-ancestors 'none'" in policy


def test_no_template_carries_inline_script_or_handlers():
    inline, handlers = [], []
    for path in TEMPLATES:
        text = path.read_text(encoding="utf-8")
        for match in re.finditer(r"<script(?![^>]*\bsrc=)(?![^>]*application/json)[^>]*>", text):
            inline.append(f"{path.relative_to(ROOT)}: {match.group(0)}")
        handlers += [f"{path.relative_to(ROOT)}: {m.group(0)}" for m in re.finditer(r"\son[a-z]+=\"", text)]
    assert inline == [] and handlers == []


@pytest.mark.django_db
def test_the_demo_refuses_a_database_with_data_of_its_own(make_org, client):
    from io import StringIO

    from django.core.management import CommandError, call_command

    from wufei.registry.models import Organization

    make_org("真实的产废单位")
    with pytest.raises(CommandError, match="only into a new database"):
        call_command("demo", quiet=True)
    out = StringIO()
    call_command("demo", "--skip-if-not-demo", stdout=out)
    assert "Demo not loaded" in out.getvalue() and Organization.objects.count() == 1
    assert 'data-testid="demo-badge"' not in client.get("/portal/").content.decode()
