"""Errors raised by the scoring package (pure: no Flask, so the web layer maps them)."""

from __future__ import annotations


class ScoringError(Exception):
    """Base class; carries an English message and its zh-CN counterpart."""

    def __init__(self, message: str, *, message_zh: str | None = None) -> None:
        super().__init__(message)
        self.message = message
        self.message_zh = message_zh or message

    def __str__(self) -> str:
        return (
            f"{self.message} / {self.message_zh}"
            if self.message_zh != self.message
            else (self.message)
        )


class ScoringDataError(ScoringError, ValueError):
    """Input data cannot be scored: missing columns, bad dates, empty windows, no positives."""
