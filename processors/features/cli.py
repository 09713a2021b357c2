"""`actionstream features apply|sink|show`: register the Feast declarations, run the feature sink, print a
camera's latest window stats."""

from __future__ import annotations

import logging
import math
import time
from typing import TYPE_CHECKING

import typer

if TYPE_CHECKING:
    from feature_store.client import FeatureClient
    from feature_store.settings import FeatureStoreSettings

features_app = typer.Typer(help="The feature store (Feast): per-camera, per-window stats.", no_args_is_help=True)


def _client(settings: FeatureStoreSettings) -> FeatureClient:
    from feature_store.client import FeatureClient

    # Feast logs every registry refresh at INFO; people reading our logs want the sink's own lines.
    logging.getLogger("feast").setLevel(logging.WARNING)
    return FeatureClient(settings)


@features_app.command("apply")
def features_apply() -> None:
    """Register the entity, sources and feature view (idempotent: safe on every set-up)."""
    from processors.features.settings import FeatureSinkSettings

    settings = FeatureSinkSettings().features
    client = _client(settings)
    client.apply()
    online = settings.repo_config()["online_store"]
    where = online.get("path", online["type"])
    typer.echo(f"feature store ready: project {settings.project}, online {online['type']} ({where}), "
               f"history {client.history.directory}")


@features_app.command("sink")
def features_sink(
    metrics_port: int = typer.Option(-1, help="Prometheus port; 0: none; -1: settings (ACTIONSTREAM_METRICS_PORT)."),
) -> None:
    """Aggregate scored frames and outcomes per camera and window, push to the feature store until SIGTERM."""
    from processors.classifier_cli import stop_on_signals
    from processors.features.settings import FeatureSinkSettings
    from processors.features.sink import FeatureSink
    from streams.broker_monitor import MONITOR
    from streams.health import serve_health

    settings = FeatureSinkSettings()
    if metrics_port >= 0:
        settings = settings.model_copy(update={"metrics_port": metrics_port})
    # Handlers first: a SIGTERM while Feast loads (~10 s, longer on a busy machine) is a clean stop too.
    with stop_on_signals() as stop:
        client = _client(settings.features)
        if stop.is_set():
            return
        client.apply()  # a sink started without set-up still finds its view registered
        if settings.metrics_port:
            serve_health(settings.metrics_port, "partitions")
        MONITOR.watch(settings.kafka)
        FeatureSink(settings, client).run(stop)


def format_features(site: str, camera: str, values: dict[str, object]) -> str:
    """One `name value` line per feature; a camera without stats says so."""
    if values.get("window_start") is None:
        return f"{site}/{camera}: no window stats in the online store"
    lines = [f"{site}/{camera}"]
    for name, value in values.items():
        if name == "window_start" and isinstance(value, float):
            shown = time.strftime("%Y-%m-%d %H:%M:%S UTC", time.gmtime(value))
        elif isinstance(value, float):
            shown = "-" if math.isnan(value) else f"{value:.3f}"
        else:
            shown = "-" if value is None else str(value)
        lines.append(f"  {name:16} {shown}")
    return "\n".join(lines)


@features_app.command("show")
def features_show(
    site: str = typer.Option(..., help="Site of the camera."),
    camera: str = typer.Option(..., help="Camera id."),
) -> None:
    """Print a camera's latest window stats from the online store."""
    from processors.features.settings import FeatureSinkSettings

    client = _client(FeatureSinkSettings().features)
    typer.echo(format_features(site, camera, client.online(site, camera)))


def register(app: typer.Typer) -> None:
    app.add_typer(features_app, name="features")
