"""Hypothesis profiles: `default` for `make test` (derandomized, so a run is reproducible and fast) and
`fuzz` for `make fuzz` (`pytest --hypothesis-profile fuzz`: many more examples, fresh ones each run)."""

from hypothesis import HealthCheck, settings

# No deadline: two shared cores make single examples slow now and then, which is not a finding.
settings.register_profile("default", max_examples=1200, derandomize=True, database=None, deadline=None,
                          suppress_health_check=[HealthCheck.too_slow])
settings.register_profile("fuzz", max_examples=25_000, deadline=None, suppress_health_check=[HealthCheck.too_slow])
settings.load_profile("default")
