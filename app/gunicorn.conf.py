"""gunicorn settings for App Service: `gunicorn --config app/gunicorn.conf.py app.wsgi:application`.

Each worker process holds its own cached key (one Key Vault read per process); threads share it.
"""

from __future__ import annotations

import os
import sys


def _count(name: str, default: int, maximum: int) -> int:
    value = os.environ.get(name, str(default)).strip()
    if not value.isdigit() or not 1 <= int(value) <= maximum:
        print(f"app: {name}={value!r}: must be an integer from 1 to {maximum}", file=sys.stderr)
        sys.exit(2)
    return int(value)


def _level() -> str:
    from app.settings import LOG_LEVELS

    value = os.environ.get("APP_LOG_LEVEL", "info").strip()
    if value.upper() not in LOG_LEVELS:
        print(
            f"app: APP_LOG_LEVEL={value!r}: must be one of {', '.join(LOG_LEVELS).lower()}",
            file=sys.stderr,
        )
        sys.exit(2)
    return value.lower()


# App Service routes the site's traffic to the port in PORT (8000 by default for Python).
bind = f"0.0.0.0:{_count('PORT', 8000, 65535)}"
workers = _count("GUNICORN_WORKERS", 2, 64)
worker_class = "gthread"
threads = _count("GUNICORN_THREADS", 8, 256)
# Chat completions can take a while; App Service's front end gives up after 230 s.
timeout = 230
graceful_timeout = 30
accesslog = "-"
errorlog = "-"
loglevel = _level()
# The App Service front end terminates TLS and sets X-Forwarded-*.
forwarded_allow_ips = "*"
# No runtime control socket: HOME (/home) is storage shared by every instance of the app.
control_socket_disable = True


def on_starting(server: object) -> None:
    """Check the app settings once in the master, so a bad one stops the start with one line;
    create the folder where the workers report their key versions (app/workers.py)."""
    import tempfile

    from app.settings import Settings, SettingsError
    from app.workers import STATE_DIR_SETTING

    try:
        Settings.from_env(os.environ)
    except SettingsError as exc:
        print(f"app: {exc}", file=sys.stderr, flush=True)
        sys.exit(2)
    # Local to this instance (not /home, which every instance shares); workers inherit it.
    os.environ[STATE_DIR_SETTING] = tempfile.mkdtemp(prefix="app-workers-")


def post_worker_init(worker: object) -> None:
    """Start the worker's key re-check, so an idle worker moves to a new version too."""
    watch = getattr(getattr(worker, "wsgi", None), "extensions", {}).get("key_watch")
    if watch is not None:
        watch.start()


def worker_exit(server: object, worker: object) -> None:
    """Remove the exiting worker's report."""
    watch = getattr(getattr(worker, "wsgi", None), "extensions", {}).get("key_watch")
    if watch is not None:
        watch.stop()


def on_exit(server: object) -> None:
    """Remove the workers' report folder."""
    import shutil

    from app.workers import STATE_DIR_SETTING

    shutil.rmtree(os.environ.get(STATE_DIR_SETTING, ""), ignore_errors=True)
