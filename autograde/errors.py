"""The one error type of the grading tool."""


class AutogradeError(Exception):
    """Something the user can fix. The CLI prints it as one sentence (plus a hint) and exits 1."""

    def __init__(self, message, hint="", log=""):
        super().__init__(message)
        self.hint = hint
        self.log = log  # the failed tool's own output, for callers that read it
