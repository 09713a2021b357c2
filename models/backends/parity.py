"""Parity of a backend against torch fp32: max absolute logit error and top-1 agreement on the same images."""

from __future__ import annotations

from dataclasses import asdict, dataclass

import numpy as np

from models.backends.base import EncoderBackend


@dataclass(frozen=True)
class ParityReport:
    backend: str
    precision: str
    max_abs_error_logits: float
    max_abs_error_features: float
    top1_agreement: float
    num_images: int

    def to_dict(self) -> dict[str, float | int | str]:
        return asdict(self)


def check_parity(reference: EncoderBackend, candidate: EncoderBackend, images: np.ndarray) -> ParityReport:
    expected = reference.run(images)
    actual = candidate.run(images)
    return ParityReport(
        backend=candidate.name,
        precision=candidate.precision,
        max_abs_error_logits=float(np.abs(actual.logits - expected.logits).max()),
        max_abs_error_features=float(np.abs(actual.features - expected.features).max()),
        top1_agreement=float((actual.logits.argmax(axis=1) == expected.logits.argmax(axis=1)).mean()),
        num_images=len(images),
    )
