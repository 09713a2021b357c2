"""The pipeline bench's wait for a trial's last outcomes: until every expected window has one, or could have had
one (every stage drained, the idle close and a settling margin passed, outcomes stopped), never past the bound."""

from __future__ import annotations

from bench.pipeline_drain import DrainPolicy, DrainVerdict, DrainWatch

POLICY = DrainPolicy(idle_close_s=10.0, settle_s=5.0, bound_s=240.0)
BACKLOG = {"stage1": 900.0, "stage2": 0.0, "classifier": 0.0}
DRAINED = {"stage1": 0.0, "stage2": 0.0, "classifier": 0.0}


def test_the_wait_ends_as_soon_as_every_expected_window_has_its_outcome() -> None:
    watch = DrainWatch(POLICY, started_at=0.0)
    assert watch.observe(1.0, missing=3, outcomes=10, lags=BACKLOG) == DrainVerdict(False)
    assert watch.observe(2.0, missing=0, outcomes=13, lags=BACKLOG) == DrainVerdict(True)


def test_a_backlog_longer_than_the_old_30_s_wait_is_waited_for_and_then_the_idle_close() -> None:
    # Stage 1 drains its backlog for 40 s; the open windows close as idle only 10 s after that.
    watch = DrainWatch(POLICY, started_at=0.0)
    for now in range(0, 40):
        assert not watch.observe(float(now), missing=32, outcomes=now, lags=BACKLOG).done
    for now in range(40, 55):
        assert not watch.observe(float(now), missing=32, outcomes=40, lags=DRAINED).done
    assert watch.observe(55.0, missing=0, outcomes=72, lags=DRAINED) == DrainVerdict(True)


def test_windows_that_do_not_come_once_everything_drained_and_went_quiet_end_the_wait_with_the_reason() -> None:
    watch = DrainWatch(POLICY, started_at=0.0)
    assert not watch.observe(0.0, missing=2, outcomes=5, lags=DRAINED).done
    assert not watch.observe(14.0, missing=2, outcomes=5, lags=DRAINED).done  # idle close + settle not passed
    verdict = watch.observe(15.0, missing=2, outcomes=5, lags=DRAINED)
    assert verdict.done
    assert verdict.reason == "none came 15 s after every stage's input drained (idle close after 10 s)"


def test_outcomes_still_arriving_or_a_lag_coming_back_keep_the_wait_going() -> None:
    watch = DrainWatch(POLICY, started_at=0.0)
    watch.observe(0.0, missing=4, outcomes=5, lags=DRAINED)
    assert not watch.observe(13.0, missing=3, outcomes=6, lags=DRAINED).done  # an outcome 2 s before
    assert not watch.observe(15.0, missing=3, outcomes=6, lags=DRAINED).done
    assert watch.observe(18.0, missing=3, outcomes=6, lags=DRAINED).done  # quiet for the settling margin
    again = DrainWatch(POLICY, started_at=0.0)
    again.observe(0.0, missing=4, outcomes=5, lags=DRAINED)
    again.observe(10.0, missing=4, outcomes=5, lags={**DRAINED, "classifier": 3.0})  # the idle clips arrive
    assert not again.observe(20.0, missing=4, outcomes=5, lags=DRAINED).done  # drained again only since 20 s
    assert again.observe(35.0, missing=4, outcomes=5, lags=DRAINED).done


def test_the_bound_ends_the_wait_and_says_how_far_behind_each_stage_still_is() -> None:
    watch = DrainWatch(DrainPolicy(idle_close_s=10.0, bound_s=60.0), started_at=100.0)
    assert not watch.observe(159.0, missing=32, outcomes=1, lags=BACKLOG).done
    verdict = watch.observe(160.0, missing=32, outcomes=2, lags=BACKLOG)
    assert verdict == DrainVerdict(True, "the wait for them hit its bound of 60 s (records behind: classifier 0, "
                                         "stage1 900, stage2 0)")


def test_without_a_readable_lag_the_wait_ends_once_outcomes_stopped_for_the_idle_close_and_margin() -> None:
    watch = DrainWatch(POLICY, started_at=0.0)
    assert not watch.observe(5.0, missing=2, outcomes=7, lags=None).done
    assert not watch.observe(19.0, missing=2, outcomes=7, lags=None).done
    verdict = watch.observe(20.0, missing=2, outcomes=7, lags=None)
    assert verdict == DrainVerdict(True, "no outcome arrived for 15 s (consumer lag not readable)")
    assert watch.observe(20.0, missing=0, outcomes=9, lags=None) == DrainVerdict(True)
