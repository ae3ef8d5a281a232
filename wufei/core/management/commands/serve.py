"""`wufei serve [--bind HOST:PORT] [--workers N]`: serve Wufei with a production WSGI server (gunicorn).

Bound to 127.0.0.1:8000 unless told otherwise (WUFEI_BIND or --bind: put a TLS proxy such as nginx in front of
it and set WUFEI_HTTPS=1); WUFEI_WEB_WORKERS processes (default 2); static files are served by WhiteNoise from
`wufei collectstatic`'s folder. Requests are logged to stdout, errors with their tracebacks to stderr. Background
jobs run in `wufei worker`, never here.
"""

import os

from django.conf import settings
from django.core.management.base import BaseCommand
from django.core.wsgi import get_wsgi_application
from gunicorn.app.base import BaseApplication


class _Server(BaseApplication):
    def __init__(self, options: dict):
        self.options = options
        super().__init__()

    def load_config(self):
        for key, value in self.options.items():
            self.cfg.set(key, value)

    def load(self):
        return get_wsgi_application()


class Command(BaseCommand):
    help = "Serve Wufei with gunicorn (production server): --bind HOST:PORT (default 127.0.0.1:8000), --workers N."

    def add_arguments(self, parser):
        parser.add_argument("--bind", default=os.environ.get("WUFEI_BIND", "127.0.0.1:8000"),
                            help="address and port (default 127.0.0.1:8000, or WUFEI_BIND)")
        parser.add_argument("--workers", type=int, default=settings.WEB_WORKERS,
                            help="worker processes (default WUFEI_WEB_WORKERS, 2)")
        parser.add_argument("--timeout", type=int, default=int(os.environ.get("WUFEI_WEB_TIMEOUT", "120")),
                            help="seconds a request may take before its worker is restarted (default 120)")

    def handle(self, *args, bind, workers, timeout, **options):
        self.stdout.write(f"Wufei serving on http://{bind}/ with {workers} workers (gunicorn)")
        _Server({
            "bind": bind, "workers": workers, "timeout": timeout, "graceful_timeout": 30,
            "accesslog": "-", "errorlog": "-", "loglevel": "info",
            "access_log_format": '%(h)s "%(r)s" %(s)s %(b)s %(M)sms rid=%({x-request-id}o)s',
            "forwarded_allow_ips": os.environ.get("WUFEI_FORWARDED_ALLOW_IPS", "127.0.0.1"),
            "proc_name": "wufei",
        }).run()
