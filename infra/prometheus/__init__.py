"""Prometheus and Alertmanager for ops: scrape targets, rule files, configs, and the managed local stack."""
