"""Errors of the client: an API answer that is not 2xx, and a request that never got an answer."""

from __future__ import annotations

from typing import Any, Optional


class ContextEngineError(Exception):
    """Base class of the client's errors."""


class ContextApiError(ContextEngineError):
    """A non-2xx answer. `code` is the API's stable error code (BAD_REQUEST, NOT_FOUND, RATE_LIMITED, ...)."""

    def __init__(
        self,
        status: int,
        code: str,
        message: str,
        request_id: Optional[str] = None,
        details: Any = None,
        retry_after: Optional[float] = None,
    ) -> None:
        super().__init__(f"{status} {code}: {message}")
        self.status = status
        self.code = code
        self.message = message
        self.request_id = request_id
        self.details = details
        self.retry_after = retry_after


class ContextConnectionError(ContextEngineError):
    """No answer: the connection failed or timed out, on the last attempt."""
