"""The wire contract. Golden messages pin each schema version: a change here is a wire format change."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from streams.schemas import (
    FRAME_SCHEMA_VERSION,
    PUBLISHED_EVENTS,
    CameraStatus,
    ColumnScore,
    DriftReport,
    FrameHeaders,
    InvalidMessage,
    LabelScore,
    ModelComparison,
    RetrainData,
    RetrainEvidence,
    RetrainRequest,
    RetrainResult,
    RetrainTimings,
    ShadowOutcome,
)

REPO_ROOT = Path(__file__).resolve().parents[3]

# Frame record headers, schema version 1, exactly as they go on the wire (order included).
GOLDEN_FRAME_HEADERS_V1 = [
    ("schema", b"1"),
    ("site", b"site-a"),
    ("camera", b"cam1"),
    ("seq", b"14112000042"),
    ("capture_time", b"1764000005.250000"),
    ("ingest_time", b"1764000005.312345"),
    ("width", b"224"),
    ("height", b"224"),
    ("encoding", b"jpeg"),
]
GOLDEN_FRAME_V1 = FrameHeaders(
    site="site-a",
    camera="cam1",
    seq=14_112_000_042,
    capture_time=1_764_000_005.25,
    ingest_time=1_764_000_005.312345,
    width=224,
    height=224,
)

GOLDEN_CAMERA_STATUS_V1 = (
    b'{"schema":1,"site":"site-a","camera":"cam1","state":"reconnecting",'
    b'"reason":"stalled: no decodable frame for 5 s","at":1764000000.5,'
    b'"frames_published":1200,"reconnects":3,"gaps":17}'
)


def test_frame_schema_version_is_1() -> None:
    assert FRAME_SCHEMA_VERSION == 1


def test_frame_headers_golden_v1() -> None:
    assert GOLDEN_FRAME_V1.to_headers() == GOLDEN_FRAME_HEADERS_V1
    assert FrameHeaders.from_headers(GOLDEN_FRAME_HEADERS_V1) == GOLDEN_FRAME_V1


def test_frame_headers_round_trip() -> None:
    headers = FrameHeaders(
        site="s1", camera="door.2", seq=7, capture_time=12.5, ingest_time=13.000001, width=320, height=240
    )
    assert FrameHeaders.from_headers(headers.to_headers()) == headers


def test_unknown_extra_headers_are_ignored() -> None:
    # Additive changes only: a reader of v1 must accept a record that carries more headers.
    headers = [*GOLDEN_FRAME_HEADERS_V1, ("trace_id", b"abc123")]
    assert FrameHeaders.from_headers(headers) == GOLDEN_FRAME_V1


def _replace(name: str, value: bytes) -> list[tuple[str, bytes]]:
    return [(key, value if key == name else original) for key, original in GOLDEN_FRAME_HEADERS_V1]


def _null(name: str) -> list[tuple[str, bytes | None]]:
    return [(key, None if key == name else original) for key, original in GOLDEN_FRAME_HEADERS_V1]


def _without(name: str) -> list[tuple[str, bytes]]:
    return [(key, value) for key, value in GOLDEN_FRAME_HEADERS_V1 if key != name]


@pytest.mark.parametrize("name", [key for key, _ in GOLDEN_FRAME_HEADERS_V1])
def test_missing_header_names_the_header(name: str) -> None:
    with pytest.raises(InvalidMessage, match=f"frame header '{name}' is missing"):
        FrameHeaders.from_headers(_without(name))


@pytest.mark.parametrize("headers", [None, []])
def test_no_headers_at_all(headers: list[tuple[str, bytes]] | None) -> None:
    with pytest.raises(InvalidMessage, match="frame header 'schema' is missing"):
        FrameHeaders.from_headers(headers)


@pytest.mark.parametrize(
    "name, value", [("seq", b"abc"), ("width", b"2.5"), ("capture_time", b"yesterday"), ("height", b"")]
)
def test_bad_number_is_invalid_and_names_the_header(name: str, value: bytes) -> None:
    with pytest.raises(InvalidMessage, match="malformed frame header") as raised:
        FrameHeaders.from_headers(_replace(name, value))
    # The dead-letter reason must say which header is wrong, not only the bad literal.
    assert name in str(raised.value)


def test_non_utf8_text_header_is_invalid() -> None:
    with pytest.raises(InvalidMessage, match="malformed frame header"):
        FrameHeaders.from_headers(_replace("camera", b"\xff\xfe"))


@pytest.mark.parametrize("name", ["site", "seq", "encoding"])
def test_header_without_value_is_invalid(name: str) -> None:
    # Kafka headers may carry a null value (confluent-kafka gives None); that is a malformed record.
    with pytest.raises(InvalidMessage):
        FrameHeaders.from_headers(_null(name))  # type: ignore[arg-type]


@pytest.mark.parametrize("version", [b"0", b"2"])
def test_wrong_schema_version_is_invalid(version: bytes) -> None:
    with pytest.raises(InvalidMessage, match=f"unsupported frame schema version {int(version)}"):
        FrameHeaders.from_headers(_replace("schema", version))


def test_invalid_message_is_a_value_error() -> None:
    assert issubclass(InvalidMessage, ValueError)


def _golden_status() -> CameraStatus:
    return CameraStatus(
        site="site-a",
        camera="cam1",
        state="reconnecting",
        reason="stalled: no decodable frame for 5 s",
        at=1_764_000_000.5,
        frames_published=1200,
        reconnects=3,
        gaps=17,
    )


def test_camera_status_json_golden_v1() -> None:
    assert _golden_status().to_json_bytes() == GOLDEN_CAMERA_STATUS_V1
    assert CameraStatus.model_validate_json(GOLDEN_CAMERA_STATUS_V1) == _golden_status()


def test_camera_status_key() -> None:
    assert _golden_status().key() == b"site-a/cam1"


def test_camera_status_rejects_unknown_fields_and_versions() -> None:
    document = json.loads(GOLDEN_CAMERA_STATUS_V1)
    with pytest.raises(ValueError, match="extra"):
        CameraStatus.model_validate({**document, "colour": "red"})
    with pytest.raises(ValueError, match="schema"):
        CameraStatus.model_validate({**document, "schema": 2})
    with pytest.raises(ValueError, match="state"):
        CameraStatus.model_validate({**document, "state": "sleeping"})


@pytest.mark.parametrize("file_name", sorted(PUBLISHED_EVENTS))
def test_committed_json_schema_matches_the_model(file_name: str) -> None:
    committed = REPO_ROOT / "schemas" / file_name
    assert committed.exists(), f"run `actionstream schemas export` and commit {committed}"
    expected = PUBLISHED_EVENTS[file_name].model_json_schema(by_alias=True)
    assert json.loads(committed.read_text()) == expected, f"{committed} is stale: run `actionstream schemas export`"


def test_every_committed_schema_file_is_published() -> None:
    committed = {path.name for path in (REPO_ROOT / "schemas").glob("*.json")}
    assert committed == set(PUBLISHED_EVENTS)


GOLDEN_DRIFT_REPORT_V1 = (
    b'{"schema":1,"report_id":"2f0c9a4e-5b1d-5c3e-9a7f-1d2e3f4a5b6c","site":"site-a","camera":"cam1",'
    b'"reference":"7","reference_kind":"training","window_start":1764000000.0,"window_end":1764000060.0,'
    b'"frames":240,"outcomes":30,"scores":[{"column":"brightness","test":"ks","score":1.5e-8,"threshold":0.005,'
    b'"drifted":true},{"column":"label","test":"chisquare","score":0.25,"threshold":0.005,"drifted":false}],'
    b'"drifted_columns":["brightness"],"share_drifted":0.5,"embedding_mmd2":0.0125,"embedding_p_value":0.004975,'
    b'"estimated_accuracy":0.71,"estimated_accuracy_stderr":null,"reference_accuracy":0.82,'
    b'"observed_accuracy":0.65,"observed_macro_f1":0.6,'
    b'"labels":40,"causes":["data_drift","embedding_drift"],"verdict":"drift","model_version":"7",'
    b'"published_at":1764000061.5}'
)
GOLDEN_RETRAIN_REQUEST_V1 = (
    b'{"schema":1,"request_id":"8c1e2d3f-4a5b-5c6d-8e7f-0a1b2c3d4e5f","site":"site-a","cause":"data_drift",'
    b'"reason":"data_drift on 1 camera(s) (cam1): share_drifted 0.5 vs threshold 0.3 in 3 recent windows",'
    b'"evidence":[{"camera":"cam1","report_id":"r1","metric":"share_drifted","value":0.5,"threshold":0.3}],'
    b'"report_ids":["r1"],"cameras":["cam1"],"data_start":1764000000.0,"data_end":1764000180.0,'
    b'"model_version":"7","requested_at":1764000181.0}'
)


def _golden_drift_report() -> DriftReport:
    return DriftReport(
        schema_version=1, report_id="2f0c9a4e-5b1d-5c3e-9a7f-1d2e3f4a5b6c", site="site-a", camera="cam1", reference="7",
        reference_kind="training", window_start=1_764_000_000.0, window_end=1_764_000_060.0, frames=240, outcomes=30,
        scores=[ColumnScore(column="brightness", test="ks", score=1.5e-8, threshold=0.005, drifted=True),
                ColumnScore(column="label", test="chisquare", score=0.25, threshold=0.005, drifted=False)],
        drifted_columns=["brightness"], share_drifted=0.5, embedding_mmd2=0.0125, embedding_p_value=0.004975,
        estimated_accuracy=0.71, reference_accuracy=0.82, observed_accuracy=0.65, observed_macro_f1=0.6, labels=40,
        causes=["data_drift", "embedding_drift"], verdict="drift", model_version="7", published_at=1_764_000_061.5,
    )


def _golden_retrain_request() -> RetrainRequest:
    return RetrainRequest(
        request_id="8c1e2d3f-4a5b-5c6d-8e7f-0a1b2c3d4e5f", site="site-a", cause="data_drift",
        reason="data_drift on 1 camera(s) (cam1): share_drifted 0.5 vs threshold 0.3 in 3 recent windows",
        evidence=[RetrainEvidence(camera="cam1", report_id="r1", metric="share_drifted", value=0.5, threshold=0.3)],
        report_ids=["r1"], cameras=["cam1"], data_start=1_764_000_000.0, data_end=1_764_000_180.0, model_version="7",
        requested_at=1_764_000_181.0,
    )


GOLDEN_DRIFT_REPORT_V2 = (
    GOLDEN_DRIFT_REPORT_V1.replace(b'{"schema":1,', b'{"schema":2,')
    .replace(b'"labels":40,', b'"labels":40,"reference_observed_accuracy":0.8,"reference_labels":60,')
    .replace(b'"verdict":"drift",', b'"alert_causes":["data_drift"],"verdict":"drift",')
)


def test_drift_report_json_golden_v2() -> None:
    report = _golden_drift_report().model_copy(update={"schema_version": 2, "reference_observed_accuracy": 0.8,
                                                      "reference_labels": 60, "alert_causes": ["data_drift"]})
    assert report.to_json_bytes() == GOLDEN_DRIFT_REPORT_V2
    assert DriftReport.model_validate_json(GOLDEN_DRIFT_REPORT_V2) == report
    assert DriftReport(**_golden_drift_report().model_dump(exclude={"schema_version"})).schema_version == 2
    assert report.key() == b"site-a/cam1"


def test_drift_report_json_golden_v1_is_still_read() -> None:
    """Version 1 records (no reference observed accuracy, no alert causes) parse with those fields absent."""
    report = DriftReport.model_validate_json(GOLDEN_DRIFT_REPORT_V1)
    assert report == _golden_drift_report()
    assert (report.schema_version, report.reference_observed_accuracy, report.reference_labels,
            report.alert_causes) == (1, None, 0, None)


def test_retrain_request_json_golden_v1() -> None:
    assert _golden_retrain_request().to_json_bytes() == GOLDEN_RETRAIN_REQUEST_V1
    assert RetrainRequest.model_validate_json(GOLDEN_RETRAIN_REQUEST_V1) == _golden_retrain_request()
    assert _golden_retrain_request().key() == b"site-a/data_drift"


@pytest.mark.parametrize("golden, model, field, bad", [
    (GOLDEN_DRIFT_REPORT_V1, DriftReport, "verdict", "maybe"),
    (GOLDEN_DRIFT_REPORT_V1, DriftReport, "share_drifted", 1.5),
    (GOLDEN_DRIFT_REPORT_V1, DriftReport, "causes", ["bad_luck"]),
    (GOLDEN_RETRAIN_REQUEST_V1, RetrainRequest, "cause", "bad_luck"),
    (GOLDEN_RETRAIN_REQUEST_V1, RetrainRequest, "schema", 2),
])
def test_drift_events_reject_bad_values(golden: bytes, model: type[DriftReport | RetrainRequest], field: str,
                                        bad: object) -> None:
    with pytest.raises(ValueError, match=field):
        model.model_validate({**json.loads(golden), field: bad})
    with pytest.raises(ValueError, match="extra"):
        model.model_validate({**json.loads(golden), "colour": "red"})


GOLDEN_RETRAIN_RESULT_V1 = (
    b'{"schema":1,"request_id":"8c1e2d3f-4a5b-5c6d-8e7f-0a1b2c3d4e5f","site":"site-a","outcome":"refused",'
    b'"reasons":["gain on new data -0.100 below the required 0.020 (0.500 vs 0.600)"],'
    b'"new_data":{"examples":40,"candidate_accuracy":0.5,"production_accuracy":0.6,"gain":-0.1,"candidate_only":2,'
    b'"production_only":6,"p_value":0.98},'
    b'"base_test":{"examples":30,"candidate_accuracy":0.7,"production_accuracy":0.7,"gain":0.0,"candidate_only":1,'
    b'"production_only":1,"p_value":0.75},"other_cameras":null,'
    b'"candidate_version":"8","production_version":"7",'
    b'"data":{"base":"var/data/synthetic","labelled":"var/archive/export","train_videos":120,"labelled_videos":60,'
    b'"held_out_labelled":40,"held_out_base":30,"replay_videos":0,"held_out_replay":0},'
    b'"timings":{"data_s":1.5,"training_s":30.0,"evaluation_s":4.0,"total_s":36.0},"attempt":1,"live":null,'
    b'"finished_at":1764000300.0}'
)


def _golden_retrain_result() -> RetrainResult:
    return RetrainResult(
        request_id="8c1e2d3f-4a5b-5c6d-8e7f-0a1b2c3d4e5f", site="site-a", outcome="refused",
        reasons=["gain on new data -0.100 below the required 0.020 (0.500 vs 0.600)"],
        new_data=ModelComparison(examples=40, candidate_accuracy=0.5, production_accuracy=0.6, gain=-0.1,
                                 candidate_only=2, production_only=6, p_value=0.98),
        base_test=ModelComparison(examples=30, candidate_accuracy=0.7, production_accuracy=0.7, gain=0.0,
                                  candidate_only=1, production_only=1, p_value=0.75),
        candidate_version="8", production_version="7",
        data=RetrainData(base="var/data/synthetic", labelled="var/archive/export", train_videos=120,
                         labelled_videos=60, held_out_labelled=40, held_out_base=30),
        timings=RetrainTimings(data_s=1.5, training_s=30.0, evaluation_s=4.0, total_s=36.0), attempt=1,
        finished_at=1_764_000_300.0,
    )


def test_retrain_result_json_golden_v1() -> None:
    assert _golden_retrain_result().to_json_bytes() == GOLDEN_RETRAIN_RESULT_V1
    # Additive fields: v1 records written before them (no "live", no "estimated_accuracy_stderr") still parse.
    assert RetrainResult.model_validate_json(GOLDEN_RETRAIN_RESULT_V1.replace(b'"live":null,', b"")) == (
        _golden_retrain_result())
    before_replay = GOLDEN_RETRAIN_RESULT_V1.replace(b'"other_cameras":null,', b"").replace(
        b',"replay_videos":0,"held_out_replay":0', b"")
    assert before_replay != GOLDEN_RETRAIN_RESULT_V1
    assert RetrainResult.model_validate_json(before_replay) == _golden_retrain_result()
    assert DriftReport.model_validate_json(GOLDEN_DRIFT_REPORT_V1.replace(b'"estimated_accuracy_stderr":null,',
                                                                          b"")) == _golden_drift_report()
    assert RetrainResult.model_validate_json(GOLDEN_RETRAIN_RESULT_V1) == _golden_retrain_result()
    assert _golden_retrain_result().key() == b"8c1e2d3f-4a5b-5c6d-8e7f-0a1b2c3d4e5f"


@pytest.mark.parametrize("field, bad", [("outcome", "postponed"), ("schema", 2), ("attempt", 0)])
def test_retrain_result_rejects_bad_values(field: str, bad: object) -> None:
    with pytest.raises(ValueError, match=field):
        RetrainResult.model_validate({**json.loads(GOLDEN_RETRAIN_RESULT_V1), field: bad})
    with pytest.raises(ValueError, match="extra"):
        RetrainResult.model_validate({**json.loads(GOLDEN_RETRAIN_RESULT_V1), "colour": "red"})


GOLDEN_SHADOW_OUTCOME_V1 = (
    b'{"schema":1,"event_id":"w1","site":"site-a","camera":"cam1","window_start":1764000000.0,'
    b'"window_end":1764000004.0,"model_version":"m/8","label":"wave","top_k":[{"label":"wave","confidence":0.7}],'
    b'"production_version":"m/7","production_label":"idle","production_top_k":[{"label":"idle","confidence":0.6}],'
    b'"published_at":1764000005.0}'
)


def test_shadow_outcome_json_golden_v1() -> None:
    shadow = ShadowOutcome(event_id="w1", site="site-a", camera="cam1", window_start=1_764_000_000.0,
                           window_end=1_764_000_004.0, model_version="m/8", label="wave",
                           top_k=[LabelScore(label="wave", confidence=0.7)], production_version="m/7",
                           production_label="idle", production_top_k=[LabelScore(label="idle", confidence=0.6)],
                           published_at=1_764_000_005.0)
    assert shadow.to_json_bytes() == GOLDEN_SHADOW_OUTCOME_V1
    assert ShadowOutcome.model_validate_json(GOLDEN_SHADOW_OUTCOME_V1) == shadow
    assert shadow.key() == b"site-a/cam1"
