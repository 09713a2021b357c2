"""Prometheus metrics of the processors (selector stages and classifier), one registry per process."""

from __future__ import annotations

from prometheus_client import Counter, Gauge, Histogram

_HOP_BUCKETS = (0.005, 0.01, 0.025, 0.05, 0.1, 0.2, 0.3, 0.5, 0.75, 1.0, 2.0, 5.0, 10.0, 30.0)
_FAST_BUCKETS = (0.001, 0.002, 0.005, 0.01, 0.02, 0.05, 0.1, 0.2, 0.5, 1.0, 2.0)

RECORDS_IN = Counter("actionstream_records_in_total", "Records consumed, by stage.", ("stage",))
RECORDS_OUT = Counter("actionstream_records_out_total", "Records published, by stage.", ("stage",))
DEADLETTERS = Counter("actionstream_deadletters_total", "Records sent to the dead-letter topic.", ("stage", "reason"))
BATCH_SIZE = Histogram("actionstream_batch_size", "Records per processed batch.", ("stage",),
                       buckets=(1, 2, 4, 8, 16, 32, 64, 128))
BATCH_FILL = Histogram("actionstream_batch_fill_ratio", "Batch size / max batch size.", ("stage",),
                       buckets=(0.05, 0.1, 0.25, 0.5, 0.75, 0.9, 1.0))
BATCH_SECONDS = Histogram("actionstream_batch_seconds", "Compute time per batch.", ("stage",), buckets=_FAST_BUCKETS)
HOP_SECONDS = Histogram("actionstream_hop_seconds", "Time spent at one hop (publish - previous publish).", ("hop",),
                        buckets=_HOP_BUCKETS)
# Where a window's time goes inside a stage, beside the hops between stages: stage 2's close (the closing frame
# handled - the window's end: capture, ingest, stage 1 and stage 2's queue), jpeg_fetch, clip_ack (the clip's send
# to the broker's acknowledgement); the classifier's commit (offsets and transaction commit).
STEP_SECONDS = Histogram("actionstream_step_seconds", "Time of one step of a window inside a stage.", ("stage", "step"),
                         buckets=_FAST_BUCKETS)
PROCESSING_SECONDS = Histogram("actionstream_processing_seconds", "Action publish - window end.",
                               buckets=_HOP_BUCKETS)
END_TO_END_SECONDS = Histogram("actionstream_end_to_end_seconds", "Action publish - capture of the last frame.",
                               buckets=_HOP_BUCKETS)
CONSUMER_LAG = Gauge("actionstream_consumer_lag", "Records waiting in Kafka for a stage (partition end - position).",
                     ("stage",))
OPEN_WINDOWS = Gauge("actionstream_open_windows", "Frames held in open windows (stage 2).")
WINDOWS = Counter("actionstream_windows_total", "Windows closed, by outcome.", ("outcome",))
OUTCOMES = Counter("actionstream_window_outcomes_total", "Windows classified, by outcome (action or idle).",
                   ("outcome",))
INCIDENTS = Counter("actionstream_incident_records_total", "Incident records published, by phase.", ("phase",))
STATE_RESTORES = Counter("actionstream_classifier_state_restores_total",
                         "Times the per-camera classifier state was read back from its topic.")
LATE_FRAMES = Counter("actionstream_late_frames_total", "Frames later than the allowed lateness (dropped).")
SHED_WINDOWS = Counter("actionstream_shed_windows_total", "Windows given fewer frames to catch up.", ("stage",))
FRAMES_PER_WINDOW = Histogram("actionstream_frames_per_window", "Frames classified per window.", ("stage",),
                              buckets=(1, 2, 3, 4, 6, 8, 12, 16, 32))
DUPLICATES = Counter("actionstream_duplicates_total", "Duplicate records dropped, by stage.", ("stage",))
MODEL_VERSION = Gauge("actionstream_model_version_info", "1 for the model version in use.", ("role", "version"))
MODEL_SWAPS = Counter("actionstream_model_swaps_total", "Switches to a new model version.", ("role",))
MODEL_LOAD_FAILURES = Counter("actionstream_model_load_failures_total", "Announced versions that failed to load.",
                              ("role",))
ASSIGNED_PARTITIONS = Gauge("actionstream_assigned_partitions", "Partitions this worker consumes, by topic.",
                            ("topic",))
# Drift job: the latest window per camera (camera "*": the site's cameras together) and reference kind.
DRIFT_SCORE = Gauge("actionstream_drift_score", "Drift scores of the latest window: share_drifted (quality "
                    "columns), embedding_mmd2 (X_i).", ("site", "camera", "reference_kind", "kind"))
DRIFT_VERDICT = Gauge("actionstream_drift_verdict", "Verdict of the latest window: 1 drift, 0 ok, -1 insufficient.",
                      ("site", "camera", "reference_kind"))
DRIFT_ALERT = Gauge("actionstream_drift_alert", "1 while a drift cause holds in k of the camera's last m windows "
                    "against the reference the retrain policy acts on (its persistence), else 0.", ("site", "camera"))
DRIFT_ACCURACY = Gauge("actionstream_drift_accuracy", "Accuracy of the latest window: estimated (label-free), "
                       "observed (labelled windows), observed_macro_f1, reference (validation).",
                       ("site", "camera", "kind"))
DRIFT_WINDOWS = Counter("actionstream_drift_windows_total", "Drift windows assessed, by reference kind and verdict.",
                        ("reference_kind", "verdict"))
DRIFT_LATE_RECORDS = Counter("actionstream_drift_late_records_total", "Frames and outcomes after their drift window "
                             "closed (not tested).")
DRIFT_LABELS = Counter("actionstream_drift_labels_joined_total", "Labels joined to window outcomes.")
DRIFT_HTML_REPORTS = Counter("actionstream_drift_html_reports_total", "Evidently HTML reports, by outcome (written, "
                             "skipped: the report thread was behind, failed).", ("outcome",))
RETRAIN_REQUESTS = Counter("actionstream_retrain_requests_total", "Retrain requests published, by cause.", ("cause",))
RETRAIN_RESULTS = Counter("actionstream_retrain_results_total", "Retrain requests finished, by outcome (promoted, "
                          "refused, failed, rolled_back).", ("outcome",))
