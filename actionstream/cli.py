"""The one `actionstream` command: each package contributes the sub-commands of the code it drives."""

from __future__ import annotations

import importlib
import logging
import os
import sys

import typer

from streams.broker_monitor import install_log_filter

QUIET_LIBRARIES = ("onnx_ir", "onnxscript", "matplotlib")

# Tracebacks never print local variables: they may hold credentials (older typer versions printed them).
app = typer.Typer(help="ActionStream: real-time action recognition on live camera streams.", no_args_is_help=True,
                  pretty_exceptions_show_locals=False)

# Each module exposes `register(app)`; heavy imports (torch, av) stay inside the command bodies so that
# `actionstream --help` and the wire-side commands start fast.
_COMMAND_MODULES = (
    "infra.cli",
    "infra.prometheus.cli",
    "streams.cli",
    "streams.labels_cli",
    "streams.access.cli",
    "processors.purge",  # adds `sites purge` to the sites commands above
    "training.cli",
    "training.synth_cli",
    "training.data_cli",
    "models.cli",
    "processors.selector_cli",
    "processors.classifier_cli",
    "processors.features.cli",
    "processors.archive.cli",
    "processors.drift.cli",
    "processors.retrain.cli",
    "bench.cli",
    "actionstream.demo",
    "actionstream.labeller",
    "actionstream.console.cli",
)

for _module_name in _COMMAND_MODULES:
    importlib.import_module(_module_name).register(app)


@app.callback()
def _configure_logging(
    verbose: bool = typer.Option(False, "--verbose", "-v", help="Log at DEBUG level."),
) -> None:
    logging.basicConfig(
        level=logging.DEBUG if verbose else logging.INFO,
        format="%(asctime)s %(levelname)s %(name)s: %(message)s",
    )
    # Kafka clients retry a lost broker many times a second; the broker monitor reports an outage instead.
    install_log_filter()
    if not verbose:
        # Library chatter a person cannot act on: ONNX export rewrites, MLflow's database set-up, matplotlib's
        # font cache (built on the first Evidently report).
        for name in QUIET_LIBRARIES:
            logging.getLogger(name).setLevel(logging.WARNING)
        os.environ.setdefault("MLFLOW_LOGGING_LEVEL", "WARNING")  # MLflow sets its own level on import
    # A progress bar in a log file is one growing line per update (registry downloads in `bench`, workers).
    os.environ.setdefault("MLFLOW_ENABLE_ARTIFACTS_PROGRESS_BAR", str(sys.stderr.isatty()).lower())
