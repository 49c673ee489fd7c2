"""The course's grading tool: python -m autograde --help."""
