"""The encoder's ONNX files copied from an earlier bundle only when its recorded digest matches."""

from __future__ import annotations

from pathlib import Path

import pytest
import torch

from models import encoder_reuse
from models.encoder import FrameEncoder
from models.encoder_reuse import encoder_digest, int8_digest, reuse_file, reuse_or_export_encoder
from models.export import ENCODER_ONNX
from models.quantization import Int8Settings


@pytest.fixture(scope="module")
def encoder() -> FrameEncoder:
    torch.manual_seed(0)
    return FrameEncoder(pretrained=False)


def test_the_digest_follows_the_weights_and_the_input_size(encoder: FrameEncoder) -> None:
    digest = encoder_digest(encoder, 224)
    assert encoder_digest(encoder, 224) == digest
    assert encoder_digest(encoder, 192) != digest
    first = next(iter(encoder.state_dict().values()))
    first.view(-1)[0] += 1.0
    try:
        assert encoder_digest(encoder, 224) != digest
    finally:
        first.view(-1)[0] -= 1.0


def test_the_int8_digest_follows_the_recipe() -> None:
    assert int8_digest("a", Int8Settings(), "64|0") == int8_digest("a", Int8Settings(), "64|0")
    assert int8_digest("a", Int8Settings(), "64|0") != int8_digest("a", Int8Settings(percentile=99.9), "64|0")
    assert int8_digest("a", Int8Settings(), "64|0") != int8_digest("b", Int8Settings(), "64|0")


def test_a_file_is_copied_only_with_the_same_digest(tmp_path: Path) -> None:
    source = tmp_path / "old" / "f.onnx"
    source.parent.mkdir()
    source.write_bytes(b"model")
    target = tmp_path / "new" / "f.onnx"
    assert not reuse_file(source, "other", "d", target) and not target.exists()
    assert not reuse_file(source, None, "d", target) and not target.exists()
    assert not reuse_file(tmp_path / "missing.onnx", "d", "d", target) and not target.exists()
    assert not reuse_file(None, "d", "d", target)
    assert reuse_file(source, "d", "d", target) and target.read_bytes() == b"model"


def _exports(monkeypatch: pytest.MonkeyPatch) -> list[Path]:
    exported: list[Path] = []

    def export(encoder: FrameEncoder, path: Path, image_size: int = 224) -> Path:
        exported.append(path)
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_bytes(b"exported")
        return path

    monkeypatch.setattr(encoder_reuse, "export_encoder_onnx", export)
    return exported


def test_the_previous_encoder_is_reused_when_unchanged_and_exported_otherwise(
    encoder: FrameEncoder, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    exported = _exports(monkeypatch)
    previous = tmp_path / "production"
    previous.mkdir()
    (previous / ENCODER_ONNX).write_bytes(b"production's")
    digest = encoder_digest(encoder, 224)

    assert reuse_or_export_encoder(encoder, tmp_path / "same", 224, previous, digest) == digest
    assert (tmp_path / "same" / ENCODER_ONNX).read_bytes() == b"production's" and exported == []

    for name, recorded in (("older", None), ("other", "0" * 64)):
        assert reuse_or_export_encoder(encoder, tmp_path / name, 224, previous, recorded) == digest
        assert (tmp_path / name / ENCODER_ONNX).read_bytes() == b"exported"
    assert reuse_or_export_encoder(encoder, tmp_path / "first", 224, None, None) == digest
    assert len(exported) == 3
