"""The broker health state machine: one report per change, reminders on a fixed grid, a settling period."""

from __future__ import annotations

from streams.broker_health import BrokerHealth, Change


def test_an_outage_is_reported_once_with_reminders_and_its_end() -> None:
    health = BrokerHealth(report_every_s=10.0)
    assert health.probed(0.0, ok=True) is None
    down = health.probed(100.0, ok=False, reason="connection refused")
    assert down is not None and down.change is Change.UNREACHABLE
    assert down.message() == "broker unreachable (connection refused)"
    reports = [health.probed(100.0 + second, ok=False) for second in range(1, 25)]
    reminders = [report for report in reports if report is not None]
    assert [report.change for report in reminders] == [Change.STILL_UNREACHABLE] * 2
    assert [report.message() for report in reminders] == ["broker still unreachable after 10 s",
                                                          "broker still unreachable after 20 s"]
    up = health.probed(125.5, ok=True)
    assert up is not None and up.message() == "broker reachable again after 25.5 s"
    assert health.probed(126.0, ok=True) is None
    assert health.reachable and health.outages == 1


def test_a_late_probe_gives_one_reminder_not_one_per_missed_interval() -> None:
    health = BrokerHealth(report_every_s=10.0)
    health.probed(0.0, ok=False)
    late = health.probed(35.0, ok=False)
    assert late is not None and late.outage_s == 35.0
    assert health.probed(39.0, ok=False) is None
    assert health.probed(40.0, ok=False) is not None


def test_suppressed_lines_are_counted_into_the_next_report_only() -> None:
    health = BrokerHealth(report_every_s=10.0)
    health.suppressed(3)
    down = health.probed(0.0, ok=False, reason="refused")
    assert down is not None and down.message() == "broker unreachable (refused); 3 Kafka client log lines suppressed"
    health.suppressed(40)
    up = health.probed(5.0, ok=True)
    assert up is not None and up.suppressed == 40
    again = health.probed(6.0, ok=False)
    assert again is not None and again.suppressed == 0 and health.outages == 2


def test_settling_lasts_settle_s_after_the_broker_is_back() -> None:
    health = BrokerHealth(report_every_s=10.0, settle_s=5.0)
    assert not health.settling(0.0)
    health.probed(0.0, ok=False)
    assert not health.settling(1.0)  # unreachable is not settling
    health.probed(2.0, ok=True)
    assert health.settling(6.9) and not health.settling(7.0)


def test_a_reported_failure_keeps_the_probes_going_for_suspect_s() -> None:
    health = BrokerHealth(report_every_s=10.0, suspect_s=5.0)
    assert not health.probing(0.0)
    health.suspected(1.0)
    assert health.probing(5.9) and not health.probing(6.0)
    health.suspected(2.0)
    health.probed(3.0, ok=False)
    assert health.probing(100.0)  # unreachable: probing until a probe succeeds
    health.probed(100.0, ok=True)
    assert not health.probing(100.0)
