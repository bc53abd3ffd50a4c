"""The Celery app, and the in-process worker used by the embedded default."""

import logging
import os
import threading

from celery import Celery
from django.conf import settings

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "config.settings")

app = Celery("warroom")
app.config_from_object("django.conf:settings", namespace="CELERY")
app.autodiscover_tasks()

logger = logging.getLogger(__name__)

# Request ids into task headers, the log context of each task, task metrics (Celery signals).
from config import observability  # noqa: E402,F401

_embedded_worker = None
_embedded_reaper = None
_embedded_lock = threading.Lock()


@app.task(name="warroom.ping")
def ping(value="pong"):
    """Round-trip check used by health checks and the integration tests."""
    return value


def start_embedded_worker(*, concurrency: int = 4):
    """Consume the in-memory broker from a thread of this process.

    The embedded default has no Redis, so the web process is also the worker:
    requests still return at once and the pipeline runs beside them. Only one
    such worker starts per process, however often this is called.
    """
    global _embedded_worker
    with _embedded_lock:
        if _embedded_worker is not None:
            return _embedded_worker
        worker = app.WorkController(
            pool_cls="threads",
            concurrency=concurrency,
            hostname=f"embedded@{os.uname().nodename}",
            without_heartbeat=True,
            without_mingle=True,
            without_gossip=True,
        )
        thread = threading.Thread(target=worker.start, name="celery-embedded", daemon=True)
        thread.start()
        _embedded_worker = worker
        _start_reaper_timer()
        logger.info("Embedded Celery worker started (%s threads).", concurrency)
        return worker


def _start_reaper_timer():
    """No beat runs beside the embedded worker, so a timer sends the reaper (and the alerts' auto-resolve) instead."""
    global _embedded_reaper
    stop = threading.Event()

    def send_reaper():
        while not stop.wait(settings.REPORT_REAP_INTERVAL_SECONDS):
            try:
                app.send_task("reports.reap_stuck_reports")
                app.send_task("alerts.auto_resolve")
            except Exception:  # noqa: BLE001 - the next tick tries again; the worker must keep running
                logger.exception("Could not send the reaper")

    threading.Thread(target=send_reaper, name="celery-embedded-reaper", daemon=True).start()
    _embedded_reaper = stop


def stop_embedded_worker():
    global _embedded_worker, _embedded_reaper
    with _embedded_lock:
        if _embedded_reaper is not None:
            _embedded_reaper.set()
            _embedded_reaper = None
        if _embedded_worker is not None:
            _embedded_worker.stop(in_sighandler=False)
            _embedded_worker = None
