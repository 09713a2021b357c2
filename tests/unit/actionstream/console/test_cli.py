"""`actionstream console`: its help, and the URL the demo prints for the Procfile's console process."""

from __future__ import annotations

from pathlib import Path

from typer.testing import CliRunner

from actionstream.cli import app
from actionstream.console.cli import console_url


def test_help_names_the_port_and_the_read_only_default() -> None:
    result = CliRunner().invoke(app, ["console", "--help"])
    assert result.exit_code == 0
    assert "--port" in result.output and "Read-only" in result.output


def test_console_url_follows_honchos_port_numbering(tmp_path: Path) -> None:
    procfile = tmp_path / "Procfile"
    procfile.write_text("selector: exec actionstream selector run --metrics-port $PORT\n"
                        "labeller: exec actionstream labels simulate\n"
                        "console: exec actionstream console --port $PORT\n")
    assert console_url(procfile, 9000) == "http://127.0.0.1:9200"  # third process type: base + 2 * 100
    procfile.write_text("selector: exec actionstream selector run --metrics-port $PORT\n")
    assert console_url(procfile, 9000) is None
