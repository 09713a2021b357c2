"""The console's HTTP API over a state filled with real records: cameras, thumbnails, events, drift with
report links, the token check of the one write action, and report names that try to leave the folder."""

from __future__ import annotations

import os
from pathlib import Path

import numpy as np
import pytest
from pydantic import SecretStr
from starlette.testclient import TestClient

from actionstream.console.app import ConsoleApp
from actionstream.console.live import LiveHub
from actionstream.console.settings import ConsoleOptions, ConsoleSettings
from actionstream.console.state import ConsoleState
from processors.drift.reports import ReportStore
from processors.drift.settings import ReportSettings
from streams.records import Clip, ClipFrame, FrameRef, clip_id
from streams.schemas import ActionEvent, CameraStatus, DriftReport, HopLatency, LabelScore, SelectedFrame
from streams.synthetic_frames import jpeg_image

T0 = 1_764_000_000.0
TOKEN = "s3cret-token"


def _clip(camera: str, start: float, seqs: list[int]) -> Clip:
    frames = [ClipFrame(seq=seq, capture_time=start + 0.5 * index, ingest_time=start + 0.5 * index + 0.01,
                        scored_time=start + 0.5 * index + 0.02, source=FrameRef("frames.demo", 0, seq), delta=1.0,
                        gamma=0.5, score=0.5, jpeg=jpeg_image(seq), features=np.zeros(4, np.float16))
              for index, seq in enumerate(seqs)]
    return Clip(clip_id=clip_id("demo", camera, start), site="demo", camera=camera, window_start=start,
                window_end=start + 4, frames=frames, candidates=32, expected_candidates=32, budget=len(seqs),
                shed=False, incomplete=False, selector_version="s/1", model_version="m/1", closed_time=start + 4.5)


def _event(camera: str, start: float, label: str) -> ActionEvent:
    return ActionEvent(
        event_id=f"{camera}-{start:.0f}", site="demo", camera=camera, window_start=start, window_end=start + 4,
        label=label, confidence=0.8, top_k=[LabelScore(label=label, confidence=0.8)],
        frames=[SelectedFrame(seq=1, capture_time=start + 1, score=0.5, topic="frames.demo", partition=0, offset=1)],
        candidates=32, budget=2, shed=False, incomplete=False, selector_version="s/1", model_version="m/1",
        published_at=start + 4.5, latency=HopLatency(ingest=0.1, score=0.1, select=0.1, classify=0.1,
                                                      processing=0.5, end_to_end=1.5))


def _drift(camera: str, verdict: str) -> DriftReport:
    return DriftReport(
        report_id=f"r-{camera}", site="demo", camera=camera, reference="7", reference_kind="training",
        window_start=T0, window_end=T0 + 60, frames=240, outcomes=30, scores=[], drifted_columns=["brightness"],
        share_drifted=1 / 3, embedding_mmd2=0.01, embedding_p_value=0.2, estimated_accuracy=0.7,
        reference_accuracy=0.8, observed_accuracy=None, observed_macro_f1=None, labels=0,
        causes=["data_drift"] if verdict == "drift" else [], verdict=verdict, model_version="7")


class _Html:
    """What ReportStore needs of an Evidently snapshot: it saves itself as HTML."""

    def save_html(self, path: str) -> None:
        Path(path).write_text("<html><body>drift report</body></html>")


@pytest.fixture
def reports_dir(tmp_path: Path) -> Path:
    directory = tmp_path / "reports"
    # Written by the drift job's own store, so the names are the ones the job writes.
    ReportStore(ReportSettings(reports_dir=directory, workspace_dir=None)).save(
        {"data": _Html(), "embeddings": _Html()}, f"demo/cam1/training/{T0:.0f}")  # type: ignore[dict-item]
    (tmp_path / "secret.html").write_text("outside the reports folder")
    return directory


def _client(reports_dir: Path, token: str | None = None) -> tuple[TestClient, ConsoleState]:
    options = ConsoleOptions(reports_dir=reports_dir, prometheus_url="http://127.0.0.1:9",
                             prometheus_timeout_s=0.5, admin_token=SecretStr(token) if token else None)
    state = ConsoleState(thumbnails=3, recent_events=10, recent_updates=5)
    app = ConsoleApp(ConsoleSettings(sites=["demo"], console=options), state, LiveHub())
    return TestClient(app.asgi()), state


def test_state_lists_cameras_with_status_thumbnails_last_action_and_drift_reports(reports_dir: Path) -> None:
    client, state = _client(reports_dir)
    state.apply_status(CameraStatus(site="demo", camera="cam1", state="up", reason="streaming", at=T0))
    state.apply_status(CameraStatus(site="demo", camera="cam2", state="reconnecting", reason="read timeout",
                                    at=T0 + 1))
    state.apply_status(CameraStatus(site="demo", camera="cam2", state="up", reason="older, replayed", at=T0))
    state.apply_clip(_clip("cam1", T0, [1, 5]))
    state.apply_clip(_clip("cam1", T0 + 2, [5, 9, 12]))  # the overlapping window selected frame 5 again
    state.apply_action(_event("cam1", T0, "wave"))
    state.apply_action(_event("cam1", T0 + 2, "walk"))
    state.apply_drift(_drift("cam1", "drift"))
    state.apply_drift(_drift("*", "ok"))

    body = client.get("/api/state").json()
    cameras = {camera["camera"]: camera for camera in body["cameras"]}
    assert [camera["camera"] for camera in body["cameras"]] == ["cam1", "cam2", "*"]
    assert cameras["cam2"]["state"] == "reconnecting" and cameras["cam2"]["reason"] == "read timeout"
    assert [thumb["seq"] for thumb in cameras["cam1"]["thumbnails"]] == [5, 9, 12]
    assert cameras["cam1"]["last_action"]["label"] == "walk"
    assert cameras["cam1"]["drift"]["training"]["verdict"] == "drift"
    assert sorted(cameras["cam1"]["reports"]) == [f"demo_cam1_training_{T0:.0f}-data.html",
                                                  f"demo_cam1_training_{T0:.0f}-embeddings.html"]
    assert cameras["cam2"]["reports"] == []
    assert [event["label"] for event in body["events"]] == ["wave", "walk"]
    assert body["read_only"] is True

    thumbnail = client.get("/thumbnails/demo/cam1/9.jpg")
    assert thumbnail.status_code == 200 and thumbnail.headers["content-type"] == "image/jpeg"
    assert thumbnail.content == jpeg_image(9)
    assert client.get("/thumbnails/demo/cam1/1.jpg").status_code == 404  # pushed out by newer frames


def test_page_and_its_script_are_served_without_any_outside_source(reports_dir: Path) -> None:
    client, _ = _client(reports_dir)
    page = client.get("/")
    assert page.status_code == 200 and "/static/console.js" in page.text
    script = client.get("/static/console.js")
    assert script.status_code == 200 and "EventSource" in script.text
    assert "http" not in page.text.replace("http-equiv", "")  # nothing from a CDN


def test_a_report_is_served_and_names_that_leave_the_folder_are_refused(reports_dir: Path, tmp_path: Path) -> None:
    client, _ = _client(reports_dir)
    report = client.get(f"/reports/demo_cam1_training_{T0:.0f}-data.html")
    assert report.status_code == 200 and "drift report" in report.text
    os.symlink(tmp_path / "secret.html", reports_dir / "link.html")
    (reports_dir / "notes.txt").write_text("not a report")
    for name in ("..%2Fsecret.html", "%2E%2E%2Fsecret.html", "..html", "link.html", "notes.txt",
                 "%2Fetc%2Fpasswd", "demo_cam1_training.html"):
        response = client.get(f"/reports/{name}")
        assert response.status_code == 404, name
        assert "outside" not in response.text


def test_promotion_is_refused_without_the_token(reports_dir: Path) -> None:
    read_only, _ = _client(reports_dir)
    response = read_only.post("/api/models/promote", json={"version": "1"},
                              headers={"Authorization": f"Bearer {TOKEN}"})
    assert response.status_code == 403 and "read-only" in response.json()["error"]

    client, _ = _client(reports_dir, token=TOKEN)
    missing = client.post("/api/models/promote", json={"version": "1"})
    assert missing.status_code == 401 and missing.headers["www-authenticate"] == "Bearer"
    for header in (f"Bearer {TOKEN}x", f"Basic {TOKEN}", "Bearer ", TOKEN):
        assert client.post("/api/models/promote", json={"version": "1"},
                           headers={"Authorization": header}).status_code in (401, 403), header
    bad_body = client.post("/api/models/promote", content=b"[]", headers={"Authorization": f"Bearer {TOKEN}"})
    assert bad_body.status_code == 400  # past the token check: the request itself is wrong


def test_charts_say_plainly_that_prometheus_is_not_reachable(reports_dir: Path) -> None:
    client, _ = _client(reports_dir)
    response = client.get("/api/charts")
    assert response.status_code == 503
    assert response.json()["error"].startswith("Prometheus not reachable at http://127.0.0.1:9")
