"""Drift checks (pure modules; the job process that consumes the topics is plumbing around them).

- `profile.ReferenceProfile`: the training profile in a model bundle, or a per-camera baseline.
- `detector.assess(profile, window, settings)`: one camera's drift window, vectorised (`stattests`, `embedding`).
- `calibration`: temperature scaling, label-free expected accuracy, observed accuracy and macro-F1.
- `reports`: Evidently HTML reports and workspace snapshots, on verdict changes or on request.
- `policy.RetrainPolicy`: when a drift report becomes a retrain request.
"""
