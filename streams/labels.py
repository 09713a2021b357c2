"""Late ground truth: reading label files and publishing labels to `labels.<site>`.

A CSV file has a header row with `event_id` and `label`, optionally `source` and `labelled_at` (epoch seconds);
a row that does not parse is reported with its line number and not published, the others are.
"""

from __future__ import annotations

import csv
import io
from collections.abc import Iterable
from dataclasses import dataclass

from confluent_kafka import Producer
from pydantic import ValidationError

from streams.schemas import Label
from streams.settings import KafkaSettings
from streams.topics import Topic, topic_name

REQUIRED_COLUMNS = ("event_id", "label")


@dataclass(frozen=True)
class RefusedRow:
    line: int
    reason: str


def parse_label_csv(text: str, default_source: str) -> tuple[list[Label], list[RefusedRow]]:
    reader = csv.DictReader(io.StringIO(text))
    missing = [column for column in REQUIRED_COLUMNS if column not in (reader.fieldnames or [])]
    if missing:
        return [], [RefusedRow(1, f"header lacks column {', '.join(missing)} (has: {reader.fieldnames or []})")]
    labels: list[Label] = []
    refused: list[RefusedRow] = []
    for row in reader:
        line = reader.line_num
        fields = {name: (value or "").strip() for name, value in row.items() if name is not None}
        document: dict[str, object] = {"event_id": fields.get("event_id", ""), "label": fields.get("label", ""),
                                       "source": fields.get("source") or default_source}
        if fields.get("labelled_at"):
            document["labelled_at"] = fields["labelled_at"]
        try:
            labels.append(Label.model_validate(document))
        except ValidationError as error:
            first = error.errors()[0]
            refused.append(RefusedRow(line, f"{'.'.join(str(part) for part in first['loc'])}: {first['msg']}"))
    return labels, refused


class LabelPublisher:
    """Publishes labels to one site's topic; `publish` returns once the broker acknowledged every one."""

    def __init__(self, kafka: KafkaSettings, site: str, timeout_s: float = 30.0) -> None:
        self.topic = topic_name(Topic.LABELS, site, kafka.topic_prefix)
        self.timeout_s = timeout_s
        self._producer = Producer({**kafka.client_config(), "enable.idempotence": True, "acks": "all"})

    def publish(self, labels: Iterable[Label]) -> int:
        failures: list[str] = []
        count = 0
        for label in labels:
            self._producer.produce(self.topic, value=label.to_json_bytes(), key=label.key(),
                                   on_delivery=lambda error, _message: failures.append(str(error)) if error else None)
            self._producer.poll(0)
            count += 1
        remaining = self._producer.flush(self.timeout_s)
        if remaining or failures:
            reason = failures[0] if failures else f"{remaining} not acknowledged in {self.timeout_s:g} s"
            raise RuntimeError(f"labels not published to {self.topic}: {reason}")
        return count
