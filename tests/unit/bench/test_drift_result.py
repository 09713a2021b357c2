"""The drift bench's accounting: delays from the shift start, raw and policy false alarms, the JSON contract."""

from __future__ import annotations

from bench.drift import ShiftRun, WindowRecord, first_detection, summarize


def _record(start: float, *, raw: bool = False, alert: bool = False, cpu_ms: float = 1.0) -> WindowRecord:
    return WindowRecord(start_s=start, end_s=start + 60.0, raw_drift=raw, raw_drift_training=raw, alert=alert,
                        crossing=alert, estimate=0.8, correct=12, outcomes=15, cpu_ms=cpu_ms)


def test_delay_counts_windows_from_the_one_the_shift_starts_in() -> None:
    records = [_record(0.0, raw=True, alert=True), _record(60.0), _record(120.0, raw=True), _record(180.0, alert=True)]
    # The shift starts 28 s into the second window: the alert before it does not count.
    assert first_detection(records, 88.0, alert=True) == (3, 240.0 - 88.0)
    assert first_detection(records, 88.0, alert=False) == (2, 180.0 - 88.0)
    assert first_detection(records[:3], 88.0, alert=True) is None


def test_summary_counts_control_false_alarms_before_and_after_the_policy() -> None:
    controls = [_record(60.0 * index, raw=index % 10 == 0, alert=index == 50, cpu_ms=2.0) for index in range(200)]
    shifted = [_record(0.0), _record(60.0), _record(120.0, raw=True, alert=True)]
    runs = [ShiftRun("brightness", 100.0, shifted, 0.9, 0.7), ShiftRun("blur", 100.0, shifted[:2], 0.9, 0.8)]

    result = summarize(controls, runs, estimate_abs_error=0.0123456)

    assert list(result) == ["bench", "delay_windows", "delay_s", "raw_false_positive_rate",
                            "false_alarms_per_1000_windows", "estimate_abs_error", "drift_ms_per_camera_window"]
    assert result["bench"] == "drift"
    assert result["delay_windows"] == {"brightness": 2, "blur": None}
    assert result["delay_s"] == {"brightness": 80.0, "blur": None}
    assert result["raw_false_positive_rate"] == 0.1  # 20 of 200 control windows
    assert result["false_alarms_per_1000_windows"] == 5.0  # 1 of 200
    assert result["estimate_abs_error"] == 0.0123
    assert result["drift_ms_per_camera_window"] == round((200 * 2.0 + 5 * 1.0) / 205, 2)  # every window
