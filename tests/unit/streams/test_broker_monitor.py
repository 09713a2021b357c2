"""The log filter in front of the broker monitor: client lines about an unreachable broker are held back and
turned into probes; other lines pass; a process that watches no broker keeps every line."""

from __future__ import annotations

import logging
import socket
import subprocess
import sys
import threading

import pytest
from confluent_kafka import KafkaError

from streams import broker_monitor
from streams.broker_health import BrokerHealthSettings
from streams.broker_monitor import BrokerLogFilter, BrokerMonitor, rdkafka_error_cb, request_failed
from streams.settings import KafkaSettings


def _record(name: str, message: str, level: int = logging.ERROR) -> logging.LogRecord:
    return logging.LogRecord(name, level, __file__, 1, message, None, None)


class _Monitor(BrokerMonitor):
    """Records failures instead of probing."""

    def __init__(self, watching: bool, reachable: bool = True, settling: bool = False) -> None:
        super().__init__()
        self._watching, self._reachable, self._settling = watching, reachable, settling
        self.failures: list[str] = []
        self.held = 0

    @property
    def watching(self) -> bool:
        return self._watching

    @property
    def reachable(self) -> bool:
        return self._reachable

    def settling(self) -> bool:
        return self._settling

    def failed(self, reason: str) -> None:
        self.failures.append(reason)

    def suppressed(self) -> None:
        self.held += 1


@pytest.mark.parametrize(("name", "message"), [
    ("aiokafka.client", "Unable connect to node with id 1: [Errno 111] Connect call failed ('127.0.0.1', 9092)"),
    ("aiokafka.client", "Unable to update metadata from [1]"),
    ("aiokafka.consumer.fetcher", "Failed fetch messages from 1: NodeNotReadyError: Attempt to send a request"),
    ("aiokafka.consumer.group_coordinator", "Group Coordinator Request failed: NodeNotReadyError: not ready"),
    ("librdkafka", "FAIL [actionstream#consumer-1] [thrd:127.0.0.1:9092/bootstrap]: Connection refused"),
])
def test_connection_failures_are_held_back_and_probed(name: str, message: str) -> None:
    monitor = _Monitor(watching=True)
    assert not BrokerLogFilter(monitor).filter(_record(name, message))
    librdkafka_prefix = "FAIL [actionstream#consumer-1] [thrd:127.0.0.1:9092/bootstrap]: "
    assert monitor.failures == [message.removeprefix(librdkafka_prefix)]
    assert monitor.held == 1


def test_other_lines_pass_while_the_broker_is_reachable() -> None:
    monitor = _Monitor(watching=True)
    log_filter = BrokerLogFilter(monitor)
    assert log_filter.filter(_record("aiokafka.consumer.group_coordinator", "Heartbeat failed", logging.WARNING))
    assert log_filter.filter(_record("processors.selector.app", "Unable connect to node 1"))  # ours: never held
    assert log_filter.filter(_record("models.runtime", "Unable to update metadata"))  # 'mode' is a prefix only
    assert monitor.failures == [] and monitor.held == 0


def test_during_an_outage_every_client_line_is_held_back_and_ours_pass() -> None:
    monitor = _Monitor(watching=True, reachable=False)
    log_filter = BrokerLogFilter(monitor)
    assert not log_filter.filter(_record("mode.timers", "Timer commit is overlapping", logging.WARNING))
    assert not log_filter.filter(_record("faust.transport.consumer", "commit failed"))
    assert log_filter.filter(_record("processors.classifier_consumer", "transaction step will be retried"))
    assert monitor.held == 2


def test_while_clients_settle_their_warnings_are_held_back_and_errors_pass() -> None:
    monitor = _Monitor(watching=True, settling=True)
    log_filter = BrokerLogFilter(monitor)
    assert not log_filter.filter(_record("aiokafka.producer.sender", "NotLeaderForPartitionError", logging.WARNING))
    assert log_filter.filter(_record("aiokafka.producer.sender", "message too large", logging.ERROR))
    assert monitor.held == 0  # the outage was reported already


@pytest.mark.parametrize("watching", [True, False])
@pytest.mark.parametrize("message", [
    "GETPID [actionstream#producer-2] [thrd:main]: Failed to acquire idempotence PID from broker 127.0.0.1:9092/1: "
    "Broker: Coordinator load in progress: retrying",
    "GETPID [actionstream#producer-4] [thrd:main]: Failed to acquire transactional PID from broker TxnCoordinator/1: "
    "Broker: Not coordinator: retrying",
    "METADATAUPDATE [actionstream#producer-3] [thrd:main]: Partition model-updates(tbhgfho2R+qfgkuowmuP0w)[0]: "
    "new leader-1 not found in cache",
])
def test_a_coordinator_still_loading_is_a_debug_line(watching: bool, message: str) -> None:
    client_logger = logging.getLogger("librdkafka")
    log_filter = BrokerLogFilter(_Monitor(watching=watching))
    level = client_logger.level
    try:
        client_logger.setLevel(logging.INFO)
        assert not log_filter.filter(_record("librdkafka", message, logging.WARNING))
        client_logger.setLevel(logging.DEBUG)  # `--verbose`: kept, at its real level
        record = _record("librdkafka", message, logging.WARNING)
        assert log_filter.filter(record) and (record.levelno, record.levelname) == (logging.DEBUG, "DEBUG")
    finally:
        client_logger.setLevel(level)


def test_the_reachability_gauge_is_exported_once_the_process_watches_a_broker() -> None:
    """Not before (a 0 there read as an outage), and 1 from the watch until a probe fails. In a process of its own:
    the registry is per process."""
    script = ("from prometheus_client import REGISTRY\n"
              "from streams.broker_monitor import MONITOR\n"
              "from streams.settings import KafkaSettings\n"
              "before = REGISTRY.get_sample_value('actionstream_broker_reachable')\n"
              "for _ in range(2):  # idempotent\n"
              "    MONITOR.watch(KafkaSettings(bootstrap_servers='127.0.0.1:1'))\n"
              "print(before, REGISTRY.get_sample_value('actionstream_broker_reachable'))\n")
    result = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True, check=True, timeout=60)
    assert result.stdout.split() == ["None", "1.0"]


def test_a_process_that_watches_no_broker_keeps_every_line() -> None:
    monitor = _Monitor(watching=False)
    assert BrokerLogFilter(monitor).filter(_record("aiokafka.client", "Unable to update metadata from [1]"))
    assert monitor.failures == []


def test_the_probe_reports_an_outage_and_the_return(caplog: pytest.LogCaptureFixture) -> None:
    listener = socket.socket()
    listener.bind(("127.0.0.1", 0))
    port = listener.getsockname()[1]
    monitor = BrokerMonitor()
    # A short suspicion: once the broker is back the thread stops probing, so the closed listener below is not a
    # new outage that its daemon thread reports for the rest of the test session ("broker still unreachable
    # after 120 s" printed after CI's last test).
    monitor.watch(KafkaSettings(bootstrap_servers=f"127.0.0.1:{port}",
                                health=BrokerHealthSettings(probe_interval_s=0.05, report_every_s=60.0,
                                                            suspect_s=0.5)))
    caplog.set_level(logging.INFO, logger="streams.broker_monitor")

    def wait_for(reachable: bool) -> None:
        done = threading.Event()
        for _ in range(100):
            if monitor.reachable is reachable:
                done.set()
                break
            done.wait(0.05)
        assert done.is_set(), f"reachable never became {reachable}"

    monitor.failed("connection refused")  # nothing listens yet
    wait_for(False)
    listener.listen()
    wait_for(True)
    threading.Event().wait(0.6)  # past the suspicion
    listener.close()
    threading.Event().wait(0.3)  # six probe intervals: a thread still probing would find the closed port
    assert monitor.reachable
    messages = [record.getMessage() for record in caplog.records]
    assert len(messages) == 2, messages
    assert messages[0] == "broker unreachable (connection refused)"
    assert messages[1].startswith("broker reachable again after ")


def _this_thread(caplog: pytest.LogCaptureFixture) -> list[logging.LogRecord]:
    """The records this test's calls logged: a monitor thread of an earlier test may still log beside them."""
    return [record for record in caplog.records if record.thread == threading.get_ident()]


def test_librdkafka_errors_probe_while_watching_and_are_logged_otherwise(
        monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture) -> None:
    caplog.set_level(logging.WARNING, logger="streams.broker_monitor")
    watching = _Monitor(watching=True)
    monkeypatch.setattr(broker_monitor, "MONITOR", watching)
    rdkafka_error_cb(KafkaError(KafkaError._ALL_BROKERS_DOWN, "1/1 brokers are down"))
    rdkafka_error_cb(KafkaError(KafkaError._MSG_TIMED_OUT, "timed out"))
    assert watching.failures == ["1/1 brokers are down"]
    assert [record.getMessage() for record in _this_thread(caplog)] == [
        'kafka client error: KafkaError{code=_MSG_TIMED_OUT,val=-192,str="timed out"}']
    caplog.clear()
    monkeypatch.setattr(broker_monitor, "MONITOR", _Monitor(watching=True, reachable=False))
    rdkafka_error_cb(KafkaError(KafkaError._MSG_TIMED_OUT, "timed out"))  # a consequence of the outage
    monkeypatch.setattr(broker_monitor, "MONITOR", _Monitor(watching=False))
    rdkafka_error_cb(KafkaError(KafkaError._TRANSPORT, "refused"))  # librdkafka logged it already
    assert _this_thread(caplog) == []


def test_a_failed_request_probes_when_the_broker_may_be_gone(monkeypatch: pytest.MonkeyPatch) -> None:
    watching = _Monitor(watching=True)
    monkeypatch.setattr(broker_monitor, "MONITOR", watching)
    request_failed(KafkaError(KafkaError._TRANSPORT, "Failed to add offsets to transaction: transport failure"))
    request_failed(KafkaError(KafkaError._TIMED_OUT, "Failed to add offsets to transaction: timed out"))
    request_failed(KafkaError(KafkaError.CONCURRENT_TRANSACTIONS, "another transaction in progress"))
    assert watching.failures == ["Failed to add offsets to transaction: transport failure",
                                 "Failed to add offsets to transaction: timed out"]
    idle = _Monitor(watching=False)
    monkeypatch.setattr(broker_monitor, "MONITOR", idle)
    request_failed(KafkaError(KafkaError._TRANSPORT, "refused"))
    assert idle.failures == []
