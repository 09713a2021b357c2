"""The console in a real browser (Debian's headless Chromium through its chromedriver, no Selenium Manager)
during a short pipeline run: RTSP camera -> adapter -> selector -> classifier, with the console reading the
same topics. The page shows the camera, an action event arrives live (server-sent events, no reload), a drift
report appears and its link opens the HTML report, the screenshot is not blank; the one write action is refused
without the token and moves the alias with it."""

from __future__ import annotations

import json
import time
from collections.abc import Callable, Iterator
from pathlib import Path

import httpx
import numpy as np
import pytest
import yaml
from confluent_kafka import Producer
from PIL import Image
from selenium import webdriver
from selenium.common.exceptions import StaleElementReferenceException
from selenium.webdriver.chrome.service import Service
from selenium.webdriver.common.by import By
from selenium.webdriver.remote.webdriver import WebDriver
from selenium.webdriver.support.ui import WebDriverWait

from infra.process import ManagedProcess, port_is_open, tail
from infra.prometheus.settings import MonitoringSettings
from infra.prometheus.stack import MonitoringStack
from infra.prometheus.targets import ScrapeTarget
from infra.rtsp.publisher import FeedPublisher
from models.registry import alias_version, set_alias
from processors.drift.reports import ReportStore
from processors.drift.settings import ReportSettings
from streams.schemas import DriftReport, ModelUpdate
from streams.settings import StreamsSettings
from streams.topics import Topic, topic_name
from tests.integration.conftest import SITE, consume_all, free_port, processor_env
from tests.support.bundles import register_bundle
from training.tracking import TrackingSettings

pytestmark = pytest.mark.integration

CHROMIUM = "/usr/bin/chromium"
CHROMEDRIVER = "/usr/bin/chromedriver"
TOKEN = "console-test-token"
CAMERA = "cam-1"


@pytest.fixture
def browser() -> Iterator[WebDriver]:
    options = webdriver.ChromeOptions()
    options.binary_location = CHROMIUM
    for argument in ("--headless=new", "--no-sandbox", "--disable-gpu", "--disable-dev-shm-usage",
                     "--window-size=1400,1700"):
        options.add_argument(argument)
    driver = webdriver.Chrome(options=options, service=Service(executable_path=CHROMEDRIVER))
    yield driver
    driver.quit()


@pytest.fixture
def monitoring(tmp_path: Path) -> Iterator[MonitoringStack]:
    """Debian's Prometheus (and the rest of the project's stack), started by the test when it needs it."""
    stack = MonitoringStack(MonitoringSettings(
        prometheus_port=free_port(), alertmanager_port=free_port(), receiver_port=free_port(),
        state_dir=tmp_path / "monitoring", scrape_interval_s=1.0, evaluation_interval_s=1.0))
    yield stack
    stack.stop()


class _Page:
    """What the test needs of the rendered page."""

    def __init__(self, driver: WebDriver, processes: list[ManagedProcess]) -> None:
        self.driver = driver
        self.processes = processes

    def wait(self, condition: Callable[[WebDriver], object], timeout_s: float, what: str) -> None:
        try:
            # The page re-renders its panels on every refresh, so an element found a moment ago may be gone.
            WebDriverWait(self.driver, timeout_s, poll_frequency=0.5,
                          ignored_exceptions=[StaleElementReferenceException]).until(condition)
        except Exception as error:
            logs = "\n".join(f"--- {process.name}\n{tail(process.log_file, 15)}" for process in self.processes)
            raise AssertionError(f"timed out waiting for {what}\n{logs}") from error

    def read(self, selector: str, attribute: str = "textContent") -> str:
        """One attribute of the first match, read in a single script call (immune to a re-render in between)."""
        value = self.driver.execute_script(
            "const e = document.querySelector(arguments[0]); return e ? e[arguments[1]] : '';", selector, attribute)
        return str(value or "")

    def feed_ids(self) -> list[str]:
        return [item.get_attribute("data-event") or "" for item in
                self.driver.find_elements(By.CSS_SELECTOR, "#feed li.action")]


class _Snapshot:
    """Stands in for an Evidently snapshot: ReportStore asks it to save itself as HTML."""

    def save_html(self, path: str) -> None:
        Path(path).write_text("<html><body><h1>Evidently drift report site-t/cam-1</h1></body></html>")


def _drift_report(model_version: str) -> DriftReport:
    now = time.time()
    return DriftReport(
        report_id="console-test", site=SITE, camera=CAMERA, reference=model_version, reference_kind="training",
        window_start=now - 60, window_end=now, frames=240, outcomes=30, scores=[], drifted_columns=["brightness"],
        share_drifted=1 / 3, embedding_mmd2=0.02, embedding_p_value=0.001, estimated_accuracy=0.6,
        reference_accuracy=0.8, observed_accuracy=None, observed_macro_f1=None, labels=0, causes=["data_drift"],
        verdict="drift", model_version=model_version)


def _non_blank(path: Path) -> float:
    pixels = np.asarray(Image.open(path).convert("L"), dtype=np.float64)
    return float(pixels.var())


def test_console_shows_cameras_live_actions_drift_reports_and_guards_promotion(
    streams_settings: StreamsSettings, tiny_bundle: Path, tmp_path: Path, browser: WebDriver,
    publish: Callable[..., FeedPublisher], processes: Callable[..., ManagedProcess], monitoring: MonitoringStack,
) -> None:
    # The pipeline serves the bundle directory, so it starts while the registry is filled for the model panel.
    env = processor_env(streams_settings, str(tiny_bundle), ACTIONSTREAM_MODEL__FOLLOW_UPDATES="false")
    publisher = publish(f"{streams_settings.kafka.topic_prefix}cam")
    config = tmp_path / "cameras.yaml"
    config.write_text(yaml.safe_dump({"site": SITE, "cameras": [
        {"id": CAMERA, "kind": "rtsp", "url": publisher.url, "sample_fps": 8.0}]}))
    metrics_ports = {"selector": free_port(), "classifier": free_port()}
    started = [processes(name, [name, "run", "--metrics-port", str(port)], env) for name, port in metrics_ports.items()]
    started.append(processes("cameras", ["cameras", "run", "--config", str(config)], env))
    tracking = TrackingSettings(tracking_uri=f"sqlite:///{tmp_path / 'mlflow.db'}", artifact_root=tmp_path / "art",
                                experiment="console", registered_model="console-model")
    first, second = register_bundle(tracking, tiny_bundle), register_bundle(tracking, tiny_bundle)
    set_alias(tracking, first, "production")
    reports_dir, port = tmp_path / "reports", free_port()
    started.append(processes("console", ["console", "--port", str(port)], {
        **env, "ACTIONSTREAM_MODEL__REGISTRY__TRACKING_URI": tracking.tracking_uri,
        "ACTIONSTREAM_MODEL__REGISTRY__REGISTERED_MODEL": tracking.registered_model,
        "ACTIONSTREAM_CONSOLE__REPORTS_DIR": str(reports_dir), "ACTIONSTREAM_CONSOLE__ADMIN_TOKEN": TOKEN,
        "ACTIONSTREAM_CONSOLE__PROMETHEUS_URL": monitoring.settings.prometheus_url}))
    url = f"http://127.0.0.1:{port}"
    page = _Page(browser, started)
    deadline = time.monotonic() + 30
    while not port_is_open("127.0.0.1", port) and time.monotonic() < deadline:
        time.sleep(0.5)

    browser.get(url)
    camera_card = f'.camera[data-camera="{CAMERA}"]'
    page.wait(lambda d: d.find_elements(By.CSS_SELECTOR, f"{camera_card} .badge.up"), 90, "the camera shown up")
    page.wait(lambda d: "Prometheus not reachable" in d.find_element(By.ID, "charts").text, 20,
              "the charts to say Prometheus is not reachable")
    # Prometheus comes up while the page is open: the charts fill in at their next refresh.
    monitoring.start([ScrapeTarget(name, f"127.0.0.1:{port}") for name, port in metrics_ports.items()])
    seen = set(page.feed_ids())
    page.wait(lambda d: set(page.feed_ids()) - seen, 120, "an action event on the page")
    # Arrived without a reload: only the live feed adds entries marked fresh.
    fresh = browser.find_elements(By.CSS_SELECTOR, "#feed li.action.fresh")
    assert fresh and fresh[0].get_attribute("data-event") not in seen
    page.wait(lambda d: d.execute_script(
        f"return [...document.querySelectorAll('{camera_card} .thumbs img')].some(i => i.naturalWidth > 0)"),
        30, "a thumbnail of a selected frame")

    # A drift report arrives on its topic; its HTML (named by the drift job's own store) is linked.
    ReportStore(ReportSettings(reports_dir=reports_dir, workspace_dir=None)).save(
        {"data": _Snapshot()}, f"{SITE}/{CAMERA}/training/{time.time():.0f}")  # type: ignore[dict-item]
    producer = Producer(streams_settings.kafka.client_config())
    report = _drift_report(first)
    producer.produce(topic_name(Topic.DRIFT_REPORTS, prefix=streams_settings.kafka.topic_prefix),
                     value=report.to_json_bytes(), key=report.key())
    producer.flush(10)
    page.wait(lambda d: d.find_elements(By.CSS_SELECTOR, f'#drift tr[data-camera="{CAMERA}"] a.report'), 30,
              "the drift report link")
    # The drift table is re-rendered on every refresh: read the badge in one script call, not a held element.
    page.wait(lambda d: "drift" in page.read(f'#drift tr[data-camera="{CAMERA}"] .badge'), 10,
              "the drift badge on the camera's row")

    page.wait(lambda d: len(d.find_elements(By.CSS_SELECTOR, "#charts .chart canvas")) == 3 and all(
        "no data" not in legend.text for legend in d.find_elements(By.CSS_SELECTOR, "#charts .chart .legend")), 60,
        "latency and throughput charts with data from Prometheus")
    assert "p99" in page.read("#charts .chart .legend")

    screenshot = tmp_path / "console.png"
    assert browser.save_screenshot(str(screenshot))
    print(f"console screenshot: {screenshot}")
    assert _non_blank(screenshot) > 200.0, "the screenshot is (nearly) one colour"

    # The write action: refused without the token, then the alias moves and model-updates says so.
    refused = httpx.post(f"{url}/api/models/promote", json={"version": second}, timeout=30)
    assert refused.status_code == 401
    assert alias_version(tracking, "production") == first
    promoted = httpx.post(f"{url}/api/models/promote", json={"version": second}, timeout=60,
                          headers={"Authorization": f"Bearer {TOKEN}"})
    assert promoted.status_code == 200, promoted.text
    assert alias_version(tracking, "production") == second
    updates_topic = topic_name(Topic.MODEL_UPDATES, prefix=streams_settings.kafka.topic_prefix)
    updates = [ModelUpdate.model_validate_json(record.value())
               for record in consume_all(streams_settings, updates_topic)]
    assert (updates[-1].model, updates[-1].alias, updates[-1].version) == (tracking.registered_model, "production",
                                                                          second)
    page.wait(lambda d: "@production" in page.read(f'#models li[data-version="{second}"]'), 30,
              "the page to show the promoted version")

    browser.get(page.read(f'#drift tr[data-camera="{CAMERA}"] a.report', "href"))
    assert "Evidently drift report site-t/cam-1" in browser.page_source
    assert json.loads(httpx.get(f"{url}/api/state", timeout=10).text)["kafka_error"] is None
    assert all(process.is_running() for process in started)
