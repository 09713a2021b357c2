"""Latency and throughput charts from Prometheus's HTTP API (`/api/v1/query_range`). The console never
scrapes the processes itself: Prometheus holds the history, and a console without it says so plainly."""

from __future__ import annotations

import time
from dataclasses import dataclass
from typing import Any

import httpx


@dataclass(frozen=True)
class ChartQuery:
    title: str
    unit: str
    series: dict[str, str]  # legend -> PromQL; a query returning several series labels them by `by`
    by: str | None = None


# The processors' own metrics (processors/metrics.py): processing = action publish - window end,
# end to end = action publish - capture of the last frame; throughput = records each stage publishes.
CHARTS: tuple[ChartQuery, ...] = (
    ChartQuery("Processing latency", "s", {
        "p50": "histogram_quantile(0.5, sum by (le) (rate(actionstream_processing_seconds_bucket[1m])))",
        "p99": "histogram_quantile(0.99, sum by (le) (rate(actionstream_processing_seconds_bucket[1m])))",
    }),
    ChartQuery("End-to-end latency", "s", {
        "p50": "histogram_quantile(0.5, sum by (le) (rate(actionstream_end_to_end_seconds_bucket[1m])))",
        "p99": "histogram_quantile(0.99, sum by (le) (rate(actionstream_end_to_end_seconds_bucket[1m])))",
    }),
    ChartQuery("Throughput by stage", "records/s", {
        "stage": "sum by (stage) (rate(actionstream_records_out_total[1m]))",
    }, by="stage"),
)


class PrometheusUnreachable(RuntimeError):
    """No answer, or no usable answer, from the Prometheus server."""


class PrometheusCharts:
    def __init__(self, url: str, timeout_s: float, minutes: float, step_s: float) -> None:
        self.url = url.rstrip("/")
        self.timeout_s = timeout_s
        self.minutes = minutes
        self.step_s = step_s

    def charts(self, now: float | None = None) -> list[dict[str, Any]]:
        """Every chart: its title, unit and series of [time, value] points. Raises PrometheusUnreachable."""
        end = time.time() if now is None else now
        start = end - self.minutes * 60
        with httpx.Client(base_url=self.url, timeout=self.timeout_s) as client:
            return [{"title": chart.title, "unit": chart.unit,
                     "series": self._series(client, chart, start, end)} for chart in CHARTS]

    def _series(self, client: httpx.Client, chart: ChartQuery, start: float, end: float) -> list[dict[str, Any]]:
        series = []
        for legend, query in chart.series.items():
            for result in self._query_range(client, query, start, end):
                name = result["metric"].get(chart.by, "") if chart.by else legend
                points = [[float(at), float(value)] for at, value in result["values"] if value not in ("NaN", "+Inf")]
                series.append({"name": name or legend, "points": points})
        return series

    def _query_range(self, client: httpx.Client, query: str, start: float, end: float) -> list[dict[str, Any]]:
        try:
            response = client.get("/api/v1/query_range",
                                  params={"query": query, "start": start, "end": end, "step": self.step_s})
            body = response.json()
        except (httpx.HTTPError, ValueError) as error:
            raise PrometheusUnreachable(f"Prometheus not reachable at {self.url} ({type(error).__name__})") from None
        if body.get("status") != "success":
            raise PrometheusUnreachable(f"Prometheus at {self.url} refused a query: {body.get('error', body)}")
        return list(body["data"]["result"])
