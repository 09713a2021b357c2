"""The retrain worker: consumes `retrain-requests` one at a time, trains a candidate on the base set plus the
labelled windows, compares it with `production` on the same held-out data, promotes it or refuses it, and
publishes every outcome on `retrain-results`. Decisions live in pure modules (training.promotion, lineage);
job.py does the training and registry work, worker.py the Kafka plumbing."""
