"""Django settings for Wufei.

Everything a deployment changes comes from the environment:
  WUFEI_DATABASE_URL  database (default: SQLite file ./wufei.sqlite3)
  WUFEI_SECRET_KEY    secret key (default: a development key; set it in production)
  WUFEI_DEBUG         "1" for debug pages
  WUFEI_ALLOWED_HOSTS comma-separated host names
  WUFEI_BASE_URL      public address used in printed links and QR codes
"""

import os
from pathlib import Path

import dj_database_url

BASE_DIR = Path(__file__).resolve().parent
WORK_DIR = Path(os.environ.get("WUFEI_WORK_DIR", Path.cwd()))

SECRET_KEY = os.environ.get("WUFEI_SECRET_KEY", "wufei-development-key-change-me-in-production-0123456789")
DEBUG = os.environ.get("WUFEI_DEBUG", "0") == "1"
ALLOWED_HOSTS = [h for h in os.environ.get("WUFEI_ALLOWED_HOSTS", "localhost,127.0.0.1,testserver").split(",") if h]
BASE_URL = os.environ.get("WUFEI_BASE_URL", "http://127.0.0.1:8000")
# deliver manifest webhooks right after the change commits (a background thread); `wufei webhooks deliver` retries
WUFEI_WEBHOOKS_INLINE = os.environ.get("WUFEI_WEBHOOKS_INLINE", "1") == "1"

INSTALLED_APPS = [
    "django.contrib.admin",
    "django.contrib.auth",
    "django.contrib.contenttypes",
    "django.contrib.sessions",
    "django.contrib.messages",
    "django.contrib.staticfiles",
    "django.contrib.humanize",
    "axes",
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
]

MIDDLEWARE = [
    "django.middleware.security.SecurityMiddleware",
    "whitenoise.middleware.WhiteNoiseMiddleware",
    "django.contrib.sessions.middleware.SessionMiddleware",
    "django.middleware.locale.LocaleMiddleware",
    "django.middleware.common.CommonMiddleware",
    "django.middleware.csrf.CsrfViewMiddleware",
    "django.contrib.auth.middleware.AuthenticationMiddleware",
    "django.contrib.messages.middleware.MessageMiddleware",
    "django.middleware.clickjacking.XFrameOptionsMiddleware",
    "wufei.core.middleware.ActorMiddleware",
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
            "init_command": "PRAGMA journal_mode=WAL; PRAGMA synchronous=NORMAL; PRAGMA foreign_keys=ON;",
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

# Login rate limiting (django-axes): lock a username+address pair after repeated failures.
AXES_FAILURE_LIMIT = int(os.environ.get("WUFEI_LOGIN_FAILURE_LIMIT", "5"))
AXES_COOLOFF_TIME = float(os.environ.get("WUFEI_LOGIN_COOLOFF_HOURS", "0.25"))
AXES_LOCKOUT_PARAMETERS = [["username", "ip_address"]]
AXES_RESET_ON_SUCCESS = True
AXES_LOCKOUT_TEMPLATE = "web/locked_out.html"
AXES_VERBOSE = False

LOGGING = {
    "version": 1,
    "disable_existing_loggers": False,
    "handlers": {"console": {"class": "logging.StreamHandler"}},
    "loggers": {"axes": {"handlers": ["console"], "level": "WARNING"}},
}

NINJA_PAGINATION_PER_PAGE = 50
