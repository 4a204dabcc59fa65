"""The one error type users see: a single line that names the fix."""


class FwenvError(Exception):
    """A failure with a one-line message that says what went wrong and what to do."""

    def __init__(self, message: str) -> None:
        super().__init__(" ".join(message.split()))
