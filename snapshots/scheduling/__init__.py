"""Schedules and retention: when a schedule is due (due.py), what one round of the control process does with the
due ones (runner.py), and which checkpoints a retention policy lets go (retention.py)."""
