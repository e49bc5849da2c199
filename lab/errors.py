"""The one exception the engine raises on purpose: a message plus what to do about it."""

from __future__ import annotations


class LabError(Exception):
    """A failure the user can act on.

    `hint` says what to do; the CLI prints both and exits non-zero without a traceback.
    """

    def __init__(self, message: str, hint: str = "") -> None:
        super().__init__(message)
        self.message = message
        self.hint = hint

    def __str__(self) -> str:
        if self.hint:
            return f"{self.message}\n  -> {self.hint}"
        return self.message
