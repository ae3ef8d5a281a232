"""Settings for the test run: the product's settings with a test secret key and background jobs that run at once
in the calling process (Huey's immediate mode), unless the environment says otherwise."""

import os

os.environ.setdefault("WUFEI_SECRET_KEY", "wufei-test-secret-key-not-for-production-0123456789abcdef")
os.environ.setdefault("WUFEI_QUEUE_URL", "immediate")
os.environ.setdefault("WUFEI_AUDIT_CHECKPOINTS", "")  # tests that write checkpoints give their own file

from wufei.settings import *  # noqa: E402,F403
