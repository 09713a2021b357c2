"""The demo starts its cameras only once every stream worker of the Procfile is ready, so the first windows
share the cores with no worker still importing, loading or catching up."""

from __future__ import annotations

from honcho.environ import parse_procfile

from actionstream.demo import PROCFILE, DemoSettings


def test_every_procfile_worker_that_serves_readiness_is_waited_for() -> None:
    processes = parse_procfile(PROCFILE.read_text()).processes
    workers = {name for name, command in processes.items() if "--metrics-port" in command}

    assert workers == set(DemoSettings().ready_processes)
    assert {"scorer", "selector", "classifier", "drift", "features"} <= workers  # the parse found the workers
