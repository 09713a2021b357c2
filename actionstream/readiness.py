"""Waiting until the stream's workers can take frames: partitions owned, model loaded.

The demo (and a bench) starts the cameras only then, so no backlog builds up while the workers join their
groups and load their models. A process that serves `/readyz` (streams/health.py) answers it; one that does not
yet is judged from the metrics every process exports: a model version in use
(`actionstream_model_version_info` = 1) and, where the process reports them, assigned partitions
(`actionstream_assigned_partitions` > 0).
"""

from __future__ import annotations

import time
import urllib.error
import urllib.request
from collections.abc import Callable, Sequence
from dataclasses import dataclass

from prometheus_client.parser import text_string_to_metric_families

MODEL_VERSION_METRIC = "actionstream_model_version_info"
ASSIGNED_PARTITIONS_METRIC = "actionstream_assigned_partitions"


@dataclass(frozen=True)
class Endpoint:
    process: str
    address: str  # host:port of its metrics server


def ready_from_metrics(text: str) -> bool:
    """Model loaded and, when the process exports its assignment, at least one partition assigned."""
    samples: dict[str, list[float]] = {}
    for family in text_string_to_metric_families(text):
        for sample in family.samples:
            samples.setdefault(sample.name, []).append(sample.value)
    model_loaded = any(value == 1 for value in samples.get(MODEL_VERSION_METRIC, []))
    partitions = samples.get(ASSIGNED_PARTITIONS_METRIC)
    return model_loaded and (partitions is None or sum(partitions) > 0)


def _get(url: str, timeout_s: float) -> tuple[int, str, str]:
    """Status, content type and body; a refused connection or a reply that times out is a 0 status (the process
    is still starting, or too busy starting to answer in time)."""
    try:
        with urllib.request.urlopen(url, timeout=timeout_s) as response:
            return response.status, response.headers.get_content_type(), response.read().decode()
    except urllib.error.HTTPError as error:
        try:
            # Read here, inside its own guard: a body that times out would escape the handler below.
            body = error.read().decode()
        except OSError:
            return 0, "", ""
        return error.code, error.headers.get_content_type(), body
    except (urllib.error.URLError, OSError):
        return 0, "", ""


def is_ready(endpoint: Endpoint, timeout_s: float = 2.0) -> bool:
    status, content_type, _ = _get(f"http://{endpoint.address}/readyz", timeout_s)
    if content_type == "application/json" and status in (200, 503):
        return status == 200
    if status == 0:
        return False
    # An older process serves its metrics page on every path: judge from the metrics.
    status, _, body = _get(f"http://{endpoint.address}/metrics", timeout_s)
    return status == 200 and ready_from_metrics(body)


def wait_until_ready(endpoints: Sequence[Endpoint], timeout_s: float, still_running: Callable[[], bool],
                     poll_s: float = 0.5, check: Callable[[Endpoint], bool] = is_ready) -> float:
    """Block until every endpoint is ready; returns the seconds waited. Raises TimeoutError naming the processes
    not ready after `timeout_s`, RuntimeError when `still_running` says the processes stopped."""
    started = time.monotonic()
    waiting = list(endpoints)
    while waiting:
        if not still_running():
            raise RuntimeError("the processes stopped before they were ready")
        waiting = [endpoint for endpoint in waiting if not check(endpoint)]
        if not waiting:
            break
        if time.monotonic() - started > timeout_s:
            names = ", ".join(f"{endpoint.process} ({endpoint.address})" for endpoint in waiting)
            raise TimeoutError(f"not ready after {timeout_s:g} s: {names}")
        time.sleep(poll_s)
    return time.monotonic() - started
