from __future__ import annotations

from typer.testing import CliRunner

from actionstream.cli import app


def test_train_rejects_an_unknown_setting_before_doing_any_work() -> None:
    result = CliRunner().invoke(app, ["train", "--set", "selectors.no_such_setting=1", "--no-track"])
    assert result.exit_code != 0
    assert "no_such_setting" in str(result.exception)


def test_train_and_evaluate_document_every_option() -> None:
    for command in ("train", "evaluate"):
        result = CliRunner().invoke(app, [command, "--help"])
        assert result.exit_code == 0
        assert "--data" in result.stdout
    assert "--selector" in CliRunner().invoke(app, ["evaluate", "--help"]).stdout
