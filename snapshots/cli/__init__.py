"""The `cryo` command line: operators and automation, through the same services as the web."""
