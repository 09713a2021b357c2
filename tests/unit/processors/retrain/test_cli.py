from typer.testing import CliRunner

from actionstream.cli import app


def test_retrain_run_is_a_command() -> None:
    result = CliRunner().invoke(app, ["retrain", "run", "--help"])
    assert result.exit_code == 0, result.output
    assert "one at a time" in result.output
    assert "--metrics-port" in result.output  # scraped by Prometheus (Procfile $PORT)
