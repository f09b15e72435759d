"""What the expiry and reconcile jobs tell Prometheus, and reconcile's exit codes.

A job is a short process: Prometheus cannot scrape it. It writes its figures, after each run,
in the textfile-collector format to CONNECTOR_METRICS_TEXTFILE_DIR (node-exporter reads
`*.prom` there) and/or pushes them to the push gateway at CONNECTOR_METRICS_PUSHGATEWAY. Its
`--json` report is not changed by this.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

from connector.settings import Settings

log = logging.getLogger("connector.jobs")

# `reconcile` exit codes; 2 stays click's own (usage error).
RECONCILE_OK, RECONCILE_FAILED, RECONCILE_DIFFERS = 0, 1, 3
SUCCESS = "connector_job_last_success_timestamp_seconds"


def reconcile_exit_code(report: Any, applied: bool) -> int:
    """0 consistent (or all repaired), 1 a user failed, 3 differences found and left alone."""
    if report.failed:
        return RECONCILE_FAILED
    if not applied and report.users:
        return RECONCILE_DIFFERS
    return RECONCILE_OK


def figures(job: str, report: Any | None, exit_code: int) -> dict[str, float]:
    """Return a job run's figures by metric name (pure: what the files will say)."""
    now = time.time()
    out = {"connector_job_last_run_timestamp_seconds": now,
           "connector_job_last_exit_code": float(exit_code)}
    if exit_code == 0 or (job == "reconcile" and exit_code == RECONCILE_DIFFERS):
        out[SUCCESS] = now
    if report is not None:
        out["connector_job_users_failed"] = float(report.failed)
        if job == "expire":
            acted = sum(1 for u in report.users if u.get("outcome") == "expired")
            out["connector_expire_users_expired"] = float(acted)
            out["connector_expire_days_scanned"] = float(report.extra.get("days") or 0)
        else:
            out["connector_reconcile_users_examined"] = float(report.extra.get("examined", 0))
            out["connector_reconcile_differences"] = float(
                sum(1 for u in report.users if u.get("outcome") in ("differs", "repaired")))
    return out


def _registry(job: str, values: dict[str, float]) -> Any:
    from prometheus_client import CollectorRegistry, Gauge

    registry = CollectorRegistry()
    for name, value in values.items():
        Gauge(name, f"{name.replace('_', ' ')} (last run of the job)", ["job"],
              registry=registry).labels(job).set(value)
    return registry


def previous_success(text: str, job: str) -> float | None:
    """Read the last success time from a job's earlier textfile, to keep it across failures."""
    from prometheus_client.parser import text_string_to_metric_families

    try:
        for family in text_string_to_metric_families(text):
            for sample in family.samples:
                if (sample.name == SUCCESS and sample.labels.get("job") == job):
                    return float(sample.value)
    except ValueError:
        return None
    return None


def publish(settings: Settings, job: str, report: Any | None, exit_code: int) -> None:
    """Write the run's figures where Prometheus reads them; a failure here is only logged.

    A failed run leaves the last success time as it was: the file keeps it, the push gateway
    keeps it (POST replaces only the metrics sent).
    """
    if not (settings.metrics_textfile_dir or settings.metrics_pushgateway):
        return
    from prometheus_client import pushadd_to_gateway, write_to_textfile

    values = figures(job, report, exit_code)
    try:
        if settings.metrics_textfile_dir:
            directory = Path(settings.metrics_textfile_dir)
            directory.mkdir(parents=True, exist_ok=True)
            target = directory / f"connector_{job}.prom"
            kept = dict(values)
            if SUCCESS not in kept and target.exists():
                before = previous_success(target.read_text(encoding="utf-8"), job)
                if before is not None:
                    kept[SUCCESS] = before
            write_to_textfile(str(target), _registry(job, kept))
        if settings.metrics_pushgateway:
            pushadd_to_gateway(settings.metrics_pushgateway, job=f"connector_{job}",
                               registry=_registry(job, values), timeout=10)
    except OSError as exc:  # the job's own outcome matters more than its metrics
        log.error("cannot publish the %s metrics: %s", job, exc)


class Run:
    """What a job run hands to `published`: its report, once it has one."""

    report: Any = None


@contextmanager
def published(settings: Settings, job: str, enabled: bool = True) -> Iterator[Run]:
    """Publish a job's figures when it ends, however it ends (exit code, exception)."""
    run, code = Run(), 1
    try:
        yield run
        code = 0
    except SystemExit as exc:
        code = exc.code if isinstance(exc.code, int) else (0 if exc.code is None else 1)
        raise
    finally:
        if enabled:
            publish(settings, job, run.report, code)
