"""`actionstream selector run`: one selector worker, stage 1 (`stage1.engine`: batched on a thread, or a Faust
agent) and stage 2 (Faust), or with `--stage` one of them (score: stage 1, window: stage 2); start more for more
throughput,
`actionstream serving promote`: point an alias at a version and tell every worker."""

from __future__ import annotations

import logging
import sys

import typer

logger = logging.getLogger(__name__)

selector_app = typer.Typer(help="SMART frame selection workers (Faust).", no_args_is_help=True)
serving_app = typer.Typer(help="Serving models: promotion and hot updates.", no_args_is_help=True)


@selector_app.command("run")
def selector_run(
    model: str = typer.Option("", help="Model reference (alias, models:/ URI or directory); default: settings."),
    metrics_port: int = typer.Option(-1, help="Prometheus port; -1: settings (ACTIONSTREAM_METRICS_PORT)."),
    site: list[str] = typer.Option([], "--site", help="Sites to serve (repeatable); default: settings."),
    faust_log_level: str = typer.Option("WARNING", help="Log level of Faust's own messages (INFO shows "
                                        "partition assignments and changelog recovery)."),
    stage: str = typer.Option("", help="both: stages 1 and 2 in this process; score: stage 1 only (scoring every "
                              "frame, batched engine); window: stage 2 only (the windows). Run score and window "
                              "processes together; default: settings (ACTIONSTREAM_SELECTOR_STAGE, both)."),
) -> None:
    """Run a selector worker until SIGTERM. Workers with one app id share the cameras."""
    from processors.serving import ModelHolder, selector_warm_up
    from processors.settings import ProcessorSettings
    from streams.broker_monitor import MONITOR
    from streams.health import HEALTH, serve_health

    settings = ProcessorSettings()
    overrides: dict[str, object] = {}
    if model:
        overrides["model"] = settings.model.model_copy(update={"reference": model})
    if site:
        overrides["sites"] = site
    if metrics_port >= 0:
        overrides["metrics_port"] = metrics_port
    if stage:
        if stage not in ("both", "score", "window"):
            raise typer.BadParameter("both, score or window", param_hint="--stage")
        overrides["selector_stage"] = stage
    settings = settings.model_copy(update=overrides)
    if settings.selector_stage == "score" and settings.stage1.engine != "batched":
        raise typer.BadParameter("a score process runs the batched stage 1 (stage1.engine: batched)",
                                 param_hint="--stage")
    if settings.metrics_port:
        serve_health(settings.metrics_port, "model", "partitions")
    MONITOR.watch(settings.kafka)
    holder = ModelHolder(settings.model, settings.kafka, role="selector", warm_up=selector_warm_up(settings))
    HEALTH.passed("model")
    holder.follow()
    if settings.selector_stage == "score":
        from processors.selector.scorer import run_scorer

        logger.info("selector stage 1 (score) for sites %s, model %s", ", ".join(settings.sites),
                    holder.current.version)
        try:
            run_scorer(settings, holder)
        finally:
            holder.close()
        return
    import faust  # a score process needs neither Faust nor aiokafka

    from processors.selector.app import SelectorApp
    from processors.selector.kafka_backoff import back_off_failed_metadata_updates

    back_off_failed_metadata_updates(settings.kafka.metadata_retry_backoff_ms / 1000)
    selector = SelectorApp(settings, holder)
    selector.ensure_changelog_topics()
    logger.info("selector worker for sites %s, model %s", ", ".join(settings.sites), holder.current.version)
    for library in ("faust", "mode", "aiokafka"):
        logging.getLogger(library).setLevel(faust_log_level.upper())
    # Our logging setup stays (Faust's would replace the root handlers, and the broker log filter on them).
    worker = faust.Worker(selector.app, loglevel=faust_log_level, quiet=True, redirect_stdouts=False,
                          override_logging=False)
    if not sys.stdout.isatty():
        worker.spinner = None  # its finish writes a cursor escape even when no spinner was drawn: noise in a log
    if selector.stage1 is not None:
        selector.stage1.start()
    if selector.stage1_backlog is not None:
        selector.stage1_backlog.start()
    try:
        worker.execute_from_commandline()
    finally:
        if selector.stage1 is not None:
            selector.stage1.stop()
        if selector.stage1_backlog is not None:
            selector.stage1_backlog.stop()
        holder.close()


@serving_app.command("promote")
def serving_promote(
    version: str = typer.Argument(..., help="Registered model version to promote."),
    alias: str = typer.Option("production", help="Alias to point at it."),
) -> None:
    """Point the alias at the version in the registry and announce it on model-updates."""
    from models.registry import set_alias
    from processors.serving import publish_model_update
    from processors.settings import ProcessorSettings
    from streams.schemas import ModelUpdate

    settings = ProcessorSettings()
    registry = settings.model.registry
    set_alias(registry, version, alias)
    publish_model_update(settings.kafka, ModelUpdate(model=registry.registered_model, alias=alias, version=version))
    typer.echo(f"{registry.registered_model} version {version} is now @{alias}; workers switch at their next window")


def register(app: typer.Typer) -> None:
    app.add_typer(selector_app, name="selector")
    app.add_typer(serving_app, name="serving")
