"""The worker API: the narrow, versioned door through which host agents read and report, one host at a time."""
