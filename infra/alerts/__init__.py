"""The project's Alertmanager webhook receiver and the record of every notification it got."""
