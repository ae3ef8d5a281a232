"""Django settings for Wufei.

Everything a deployment changes comes from the environment (README, "Deployment"):
  WUFEI_DATABASE_URL  database (default: SQLite file wufei.sqlite3 in WUFEI_WORK_DIR, else the current folder);
                      `wufei --database URL …` sets it for one command
  WUFEI_QUEUE_URL     background jobs: sqlite:///PATH (embedded, the default: next to an SQLite database, else
                      in the work folder) or redis://HOST:PORT/DB (any number of workers on any number of machines)
  WUFEI_SECRET_KEY    secret key, or WUFEI_SECRET_KEY_FILE: a file holding it (required unless WUFEI_DEBUG=1)
  WUFEI_DEBUG         "1" for debug pages and the development secret key
  WUFEI_ALLOWED_HOSTS comma-separated host names
  WUFEI_BASE_URL      public address used in printed links and QR codes
  WUFEI_HTTPS         "1" behind a TLS proxy: secure cookies, HSTS, the proxy's X-Forwarded-Proto header
  WUFEI_CSRF_TRUSTED_ORIGINS  comma-separated origins (default: WUFEI_BASE_URL's)
  WUFEI_WEB_WORKERS, WUFEI_QUEUE_WORKERS  processes of `wufei serve` and of `wufei worker`
  WUFEI_SCHEDULE_<JOB>  a periodic job's crontab ("*/5 * * * *") or "off" (jobs: see SCHEDULE below)
  WUFEI_CACHE_URL     shared cache (rate limits): redis://…, "database" (default; Redis when the queue is) or "memory"
  WUFEI_VERIFY_LOOKUPS_PER_HOUR  public manifest verification lookups per client address and hour
  WUFEI_IDEMPOTENCY_KEEP_HOURS  how long a create's answer is replayed to a retry with the same Idempotency-Key
  WUFEI_AUDIT_KEY     the audit chain's HMAC key, or WUFEI_AUDIT_KEY_FILE (default: derived from the secret key)
  WUFEI_AUDIT_CHECKPOINTS  file the signed checkpoints of the audit chain are appended to ("" for the log only)
  WUFEI_OUTBOUND_ALLOW  hosts and CIDRs webhooks may reach although not public (intranets, tests)
"""

import os
from pathlib import Path

import dj_database_url
from django.core.exceptions import ImproperlyConfigured

BASE_DIR = Path(__file__).resolve().parent
WORK_DIR = Path(os.environ.get("WUFEI_WORK_DIR", Path.cwd()))

DEBUG = os.environ.get("WUFEI_DEBUG", "0") == "1"
DEVELOPMENT_SECRET_KEY = "wufei-development-key-change-me-in-production-0123456789"
SECRET_KEY = os.environ.get("WUFEI_SECRET_KEY", "")
if not SECRET_KEY and os.environ.get("WUFEI_SECRET_KEY_FILE"):
    SECRET_KEY = Path(os.environ["WUFEI_SECRET_KEY_FILE"]).read_text(encoding="utf-8").strip()
if not SECRET_KEY or SECRET_KEY == DEVELOPMENT_SECRET_KEY:
    if not DEBUG:
        raise ImproperlyConfigured(
            "WUFEI_SECRET_KEY (or WUFEI_SECRET_KEY_FILE, a file holding it) is not set. Set it to a long random "
            "value (python -c \"import secrets; print(secrets.token_urlsafe(50))\"); only WUFEI_DEBUG=1 runs on the "
            "development key.")
    SECRET_KEY = DEVELOPMENT_SECRET_KEY
ALLOWED_HOSTS = [h for h in os.environ.get("WUFEI_ALLOWED_HOSTS", "localhost,127.0.0.1,testserver").split(",") if h]
BASE_URL = os.environ.get("WUFEI_BASE_URL", "http://127.0.0.1:8000")

INSTALLED_APPS = [
    "django.contrib.admin",
    "django.contrib.auth",
    "django.contrib.contenttypes",
    "django.contrib.sessions",
    "django.contrib.messages",
    "django.contrib.staticfiles",
    "django.contrib.humanize",
    "axes",
    "csp",
    "ninja",  # its templates and static files: the API docs (/api/v1/docs) load Swagger UI from this site, no CDN
    "huey.contrib.djhuey",
    "wufei.core",
    "wufei.catalog",
    "wufei.registry",
    "wufei.tracking",
    "wufei.ledgers",
    "wufei.manifests",
    "wufei.programme",
    "wufei.indicators",
    "wufei.alerts",
    "wufei.cases",
    "wufei.analytics",
    "wufei.web",
    "wufei.demo",
]

MIDDLEWARE = [
    "wufei.core.middleware.RequestIdMiddleware",
    "django.middleware.security.SecurityMiddleware",
    "csp.middleware.CSPMiddleware",
    "whitenoise.middleware.WhiteNoiseMiddleware",
    "django.contrib.sessions.middleware.SessionMiddleware",
    "django.middleware.locale.LocaleMiddleware",
    "wufei.core.middleware.RefuseNulMiddleware",
    "django.middleware.common.CommonMiddleware",
    "django.middleware.csrf.CsrfViewMiddleware",
    "django.contrib.auth.middleware.AuthenticationMiddleware",
    "django.contrib.messages.middleware.MessageMiddleware",
    "django.middleware.clickjacking.XFrameOptionsMiddleware",
    "wufei.core.middleware.ActorMiddleware",
    "wufei.core.middleware.OneWriterMiddleware",
    "wufei.core.idempotency.IdempotencyMiddleware",
    "axes.middleware.AxesMiddleware",
]

AUTHENTICATION_BACKENDS = [
    "axes.backends.AxesStandaloneBackend",
    "django.contrib.auth.backends.ModelBackend",
]

ROOT_URLCONF = "wufei.urls"
WSGI_APPLICATION = "wufei.wsgi.application"

TEMPLATES = [
    {
        "BACKEND": "django.template.backends.django.DjangoTemplates",
        "DIRS": [],
        "APP_DIRS": True,
        "OPTIONS": {
            "context_processors": [
                "django.template.context_processors.request",
                "django.template.context_processors.i18n",
                "django.contrib.auth.context_processors.auth",
                "django.contrib.messages.context_processors.messages",
                "wufei.web.context_processors.navigation",
            ],
        },
    },
]


def _database_config(url: str) -> dict:
    config = dj_database_url.parse(url, conn_max_age=60)
    if config["ENGINE"] == "django.db.backends.sqlite3":
        # IMMEDIATE transactions take the write lock at BEGIN, so two writers queue
        # instead of failing halfway; WAL lets readers run beside one writer.
        config["OPTIONS"] = {
            "transaction_mode": "IMMEDIATE",
            "timeout": 20,
            "init_command": "PRAGMA journal_mode=WAL; PRAGMA synchronous=FULL; PRAGMA foreign_keys=ON;",
        }
        config["CONN_MAX_AGE"] = 0
    return config


DATABASE_URL = os.environ.get("WUFEI_DATABASE_URL", f"sqlite:///{WORK_DIR / 'wufei.sqlite3'}")
DATABASES = {"default": _database_config(DATABASE_URL)}
DEFAULT_AUTO_FIELD = "django.db.models.BigAutoField"

AUTH_PASSWORD_VALIDATORS = [
    {"NAME": "django.contrib.auth.password_validation.UserAttributeSimilarityValidator"},
    {"NAME": "django.contrib.auth.password_validation.MinimumLengthValidator", "OPTIONS": {"min_length": 8}},
    {"NAME": "django.contrib.auth.password_validation.CommonPasswordValidator"},
]

LANGUAGE_CODE = "zh-hans"
LANGUAGES = [("zh-hans", "简体中文"), ("en", "English")]
LOCALE_PATHS = [BASE_DIR / "locale"]
TIME_ZONE = "Asia/Shanghai"
USE_I18N = True
USE_TZ = True

STATIC_URL = "/static/"
STATIC_ROOT = WORK_DIR / "staticfiles"
STORAGES = {
    "default": {"BACKEND": "django.core.files.storage.FileSystemStorage"},
    "staticfiles": {"BACKEND": "whitenoise.storage.CompressedStaticFilesStorage"},
}
WHITENOISE_USE_FINDERS = True
MEDIA_ROOT = WORK_DIR / "media"
MEDIA_URL = "/media/"

LOGIN_URL = "login"
LOGIN_REDIRECT_URL = "home"
LOGOUT_REDIRECT_URL = "home"

# Login rate limiting (django-axes): lock a username+address pair after repeated failures, and an account after
# more failures from any number of addresses (wufei.core.login_lockout); `wufei axes_reset_username NAME` unlocks.
AXES_FAILURE_LIMIT = int(os.environ.get("WUFEI_LOGIN_FAILURE_LIMIT", "5"))
LOGIN_ACCOUNT_FAILURE_LIMIT = int(os.environ.get("WUFEI_LOGIN_ACCOUNT_FAILURE_LIMIT", "20"))
AXES_COOLOFF_TIME = float(os.environ.get("WUFEI_LOGIN_COOLOFF_HOURS", "0.25"))
AXES_LOCKOUT_PARAMETERS = [["username", "ip_address"], "username"]
AXES_HANDLER = "wufei.core.login_lockout.AccountAndAddressHandler"
AXES_CLIENT_IP_CALLABLE = "wufei.core.ratelimit.client_ip"  # behind the TLS proxy: the address it saw
AXES_RESET_ON_SUCCESS = True
AXES_LOCKOUT_TEMPLATE = "web/locked_out.html"
AXES_VERBOSE = False

# Every record goes to stderr with the request it belongs to; an unhandled exception in a request is logged by
# django.request with its traceback (the 500 page shows the same request id, so a report can be found).
LOGGING = {
    "version": 1,
    "disable_existing_loggers": False,
    "filters": {"request_id": {"()": "wufei.core.request_ids.RequestIdFilter"}},
    "formatters": {"plain": {"format": "%(asctime)s %(levelname)s %(name)s [%(request_id)s] %(message)s"}},
    "handlers": {"stderr": {"class": "logging.StreamHandler", "filters": ["request_id"], "formatter": "plain"}},
    "root": {"handlers": ["stderr"], "level": os.environ.get("WUFEI_LOG_LEVEL", "INFO")},
    "loggers": {
        "django": {"handlers": ["stderr"], "level": "INFO", "propagate": False},
        "django.request": {"handlers": ["stderr"], "level": "ERROR", "propagate": False},
        "axes": {"handlers": ["stderr"], "level": "WARNING", "propagate": False},
        "huey": {"handlers": ["stderr"], "level": "INFO", "propagate": False},
    },
}

# --- background jobs (Huey): the embedded SQLite storage by default, Redis at scale ----------------------------

def _queue_config(url: str) -> dict:
    workers = int(os.environ.get("WUFEI_QUEUE_WORKERS", "2"))
    consumer = {"workers": workers, "worker_type": "thread", "periodic": True, "check_worker_health": True}
    if url.startswith(("redis://", "rediss://")):
        return {"name": "wufei", "huey_class": "huey.PriorityRedisHuey", "url": url, "immediate": False,
                "consumer": {**consumer, "worker_type": "process"}}
    if url.startswith("sqlite:///"):
        return {"name": "wufei", "huey_class": "huey.SqliteHuey", "filename": url.removeprefix("sqlite:///"),
                "immediate": False, "consumer": consumer}
    if url == "immediate":  # jobs run at once in the calling process: tests
        return {"name": "wufei", "huey_class": "huey.MemoryHuey", "immediate": True, "consumer": consumer}
    raise ImproperlyConfigured(f"WUFEI_QUEUE_URL must be sqlite:///PATH or redis://HOST:PORT/DB, not {url!r}")


def _default_queue_url() -> str:
    name = DATABASES["default"].get("NAME") or ""
    if DATABASES["default"]["ENGINE"].endswith("sqlite3") and name and name != ":memory:":
        return f"sqlite:///{Path(name).with_suffix('')}.queue.sqlite3"
    return f"sqlite:///{WORK_DIR / 'wufei.queue.sqlite3'}"


QUEUE_URL = os.environ.get("WUFEI_QUEUE_URL") or _default_queue_url()
HUEY = _queue_config(QUEUE_URL)

# The cache holds what every process must count together (rate limits of the public pages): the database's own
# table (created by `wufei migrate`) on the embedded install, Redis when WUFEI_CACHE_URL or the queue is on Redis.
# WUFEI_CACHE_URL: redis://HOST:PORT/DB, "database", or "memory" (one process only: development).
CACHE_URL = os.environ.get("WUFEI_CACHE_URL") or (
    QUEUE_URL if QUEUE_URL.startswith(("redis://", "rediss://")) else "database")


def _cache_config(url: str) -> dict:
    if url.startswith(("redis://", "rediss://")):
        return {"BACKEND": "django.core.cache.backends.redis.RedisCache", "LOCATION": url, "KEY_PREFIX": "wufei"}
    if url == "database":
        return {"BACKEND": "django.core.cache.backends.db.DatabaseCache", "LOCATION": "wufei_cache",
                "OPTIONS": {"MAX_ENTRIES": 100000}}
    if url == "memory":
        return {"BACKEND": "django.core.cache.backends.locmem.LocMemCache"}
    raise ImproperlyConfigured(f"WUFEI_CACHE_URL must be redis://HOST:PORT/DB, database or memory, not {url!r}")


CACHES = {"default": _cache_config(CACHE_URL)}

# Public manifest verification: lookups per client address and hour (the number alone shows the status; the
# details need the access code printed on the manifest).
VERIFY_LOOKUPS_PER_HOUR = int(os.environ.get("WUFEI_VERIFY_LOOKUPS_PER_HOUR", "60"))

# The audit chain's HMAC key, held outside the database: WUFEI_AUDIT_KEY, or WUFEI_AUDIT_KEY_FILE (a file holding it);
# empty: derived from SECRET_KEY with a salt of its own (wufei/core/audit.py). Signed checkpoints of the chain's head
# are appended to WUFEI_AUDIT_CHECKPOINTS (a file; empty: to the log only).
AUDIT_KEY = os.environ.get("WUFEI_AUDIT_KEY", "")
if not AUDIT_KEY and os.environ.get("WUFEI_AUDIT_KEY_FILE"):
    AUDIT_KEY = Path(os.environ["WUFEI_AUDIT_KEY_FILE"]).read_text(encoding="utf-8").strip()
AUDIT_CHECKPOINTS = os.environ.get("WUFEI_AUDIT_CHECKPOINTS", str(WORK_DIR / "audit-checkpoints.jsonl")) or None

# Answers to API creates sent with an Idempotency-Key are replayed to retries this long (wufei/core/idempotency.py).
IDEMPOTENCY_KEEP_HOURS = float(os.environ.get("WUFEI_IDEMPOTENCY_KEEP_HOURS", "24"))

# Periodic jobs: name → crontab (minute hour day month weekday), each overridable per deployment with
# WUFEI_SCHEDULE_<NAME> (upper case, dots as underscores), "off" to switch one off. The jobs are in the apps'
# tasks.py modules (wufei.core.jobs.periodic).
SCHEDULE_DEFAULTS = {
    "alerts.scan": "*/5 * * * *",
    "webhooks.deliver": "* * * * *",
    "ledgers.catch_up": "17 * * * *",
    "core.expire_idempotency": "7 * * * *",
    "core.audit_checkpoint": "3 * * * *",
    "core.expire_jobs": "29 3 * * *",
    "tracking.supervision_refresh": "41 2 * * *",
}
SCHEDULE = {name: os.environ.get("WUFEI_SCHEDULE_" + name.upper().replace(".", "_"), cron)
            for name, cron in SCHEDULE_DEFAULTS.items()}

# Outbound requests (webhooks) reach only public addresses; these hosts and networks are allowed anyway
# (an intranet's receiver, a test's local server): comma-separated host names and CIDRs (wufei/core/outbound.py).
OUTBOUND_ALLOW = [e.strip() for e in os.environ.get("WUFEI_OUTBOUND_ALLOW", "").split(",") if e.strip()]

# --- serving -----------------------------------------------------------------------------------------------

WEB_WORKERS = int(os.environ.get("WUFEI_WEB_WORKERS", "2"))
HTTPS = os.environ.get("WUFEI_HTTPS", "0") == "1"
CSRF_TRUSTED_ORIGINS = [o for o in os.environ.get("WUFEI_CSRF_TRUSTED_ORIGINS", BASE_URL).split(",") if o]
SECURE_CONTENT_TYPE_NOSNIFF = True
SECURE_REFERRER_POLICY = "same-origin"
X_FRAME_OPTIONS = "DENY"
if HTTPS:
    SECURE_PROXY_SSL_HEADER = ("HTTP_X_FORWARDED_PROTO", "https")
    SECURE_SSL_REDIRECT = os.environ.get("WUFEI_SSL_REDIRECT", "1") == "1"
    SESSION_COOKIE_SECURE = CSRF_COOKIE_SECURE = True
    SECURE_HSTS_SECONDS = int(os.environ.get("WUFEI_HSTS_SECONDS", "31536000"))
    SECURE_HSTS_INCLUDE_SUBDOMAINS = True
    SECURE_HSTS_PRELOAD = os.environ.get("WUFEI_HSTS_PRELOAD", "0") == "1"
    if not SECURE_HSTS_PRELOAD:  # submitting the domain to browsers' preload lists is its owner's decision
        SILENCED_SYSTEM_CHECKS = ["security.W021"]
SESSION_COOKIE_HTTPONLY = True

# Content Security Policy (django-csp): scripts, styles, images and connections from this site only; no inline
# script, no eval. Chart libraries draw on canvas; data travel as JSON in <script type="application/json">.
CONTENT_SECURITY_POLICY = {
    "DIRECTIVES": {
        "default-src": ["'self'"],
        "script-src": ["'self'"],
        "style-src": ["'self'", "'unsafe-inline'"],
        "img-src": ["'self'", "data:", "blob:"],
        "font-src": ["'self'", "data:"],
        "connect-src": ["'self'"],
        "frame-ancestors": ["'none'"],
        "form-action": ["'self'"],
        "base-uri": ["'self'"],
        "object-src": ["'none'"],
    },
}

# Public container code verification (/t/<code>/): look-ups per visitor (address, or account) and hour, so nobody
# maps a unit's production by guessing codes. The labels' own holders and regulators are not counted.
CONTAINER_LOOKUPS_PER_HOUR = int(os.environ.get("WUFEI_CONTAINER_LOOKUPS_PER_HOUR", "120"))

NINJA_PAGINATION_PER_PAGE = 50
