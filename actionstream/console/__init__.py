"""`actionstream console`: the live web console ops open first (cameras, action feed, drift, models, charts)."""
