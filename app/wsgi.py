"""The WSGI entry point: `gunicorn --config app/gunicorn.conf.py app.wsgi:application`."""

from __future__ import annotations

import logging
import os
import sys

from app.settings import LOG_LEVELS, SettingsError
from app.web import create_app

# APP_LOG_LEVEL is checked by gunicorn.conf.py before any worker starts.
level = os.environ.get("APP_LOG_LEVEL", "info").strip().upper()
logging.basicConfig(
    level=level if level in LOG_LEVELS else "INFO",
    format="%(asctime)s %(levelname)s %(name)s: %(message)s",
    stream=sys.stderr,
)
# The SDKs' HTTP logging would print request URLs and headers at INFO: keep it to warnings.
logging.getLogger("azure").setLevel(logging.WARNING)

try:
    application = create_app()
except SettingsError as exc:
    print(f"app: {exc}", file=sys.stderr, flush=True)
    # gunicorn's "worker failed to boot" code: the master stops instead of respawning forever.
    sys.exit(3)
