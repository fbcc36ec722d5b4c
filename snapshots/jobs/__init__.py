"""The job state machine: what each kind of job does in which step on which host, and every transition."""
