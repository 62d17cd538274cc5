"""The HTTP client: JSON over urllib, with timeouts and retries that honour Retry-After and keep writes idempotent."""

from __future__ import annotations

import http.client
import json
import random
import time
import urllib.error
import urllib.parse
import urllib.request
import uuid
from email.utils import parsedate_to_datetime
from typing import Any, Callable, Dict, Iterator, List, Mapping, Optional, Tuple

from .errors import ContextApiError, ContextConnectionError
from .types import (
    ContextOptions,
    ContextResult,
    Memory,
    MemoryPage,
    SessionPage,
    SessionSummary,
    Turn,
    WriteTurnsResult,
)

# Answers that mean "not done, try again": 429 never ran; 502/503/504 are repeated only when repeating is safe.
_RATE_LIMITED = 429
_UNAVAILABLE = (502, 503, 504)
_CODE_FOR_STATUS = {
    400: "BAD_REQUEST",
    401: "UNAUTHORIZED",
    403: "FORBIDDEN",
    404: "NOT_FOUND",
    409: "CONFLICT",
    413: "PAYLOAD_TOO_LARGE",
    415: "UNSUPPORTED_MEDIA_TYPE",
    429: "RATE_LIMITED",
    502: "UNAVAILABLE",
    503: "UNAVAILABLE",
    504: "UNAVAILABLE",
}


def _seg(value: str) -> str:
    return urllib.parse.quote(value, safe="")


def _query(params: Mapping[str, Any]) -> str:
    pairs = [(k, str(v).lower() if isinstance(v, bool) else str(v)) for k, v in params.items() if v is not None]
    return f"?{urllib.parse.urlencode(pairs)}" if pairs else ""


def _retry_after(value: Optional[str]) -> Optional[float]:
    """Seconds from a Retry-After header: a number of seconds or an HTTP date."""
    if not value:
        return None
    try:
        return max(0.0, float(value))
    except ValueError:
        pass
    try:
        return max(0.0, parsedate_to_datetime(value).timestamp() - time.time())
    except (TypeError, ValueError):
        return None


class ContextClient:
    """A client of one context engine.

    Retries: a 429 is retried after its Retry-After; a 502/503/504 or a failed connection is retried only when the
    request is safe to repeat (reads, deletes, and writes sent with an Idempotency-Key, which `write_turns` makes
    for every call unless given one). Waits grow exponentially with jitter from `backoff` up to `max_backoff`.
    """

    def __init__(
        self,
        base_url: str,
        api_key: str,
        *,
        timeout: float = 30.0,
        max_retries: int = 3,
        backoff: float = 0.5,
        max_backoff: float = 20.0,
        max_retry_after: float = 60.0,
        headers: Optional[Mapping[str, str]] = None,
        sleep: Callable[[float], None] = time.sleep,
    ) -> None:
        if not base_url:
            raise ValueError("base_url is required")
        if not api_key:
            raise ValueError("api_key is required")
        self.base_url = base_url.rstrip("/")
        self._api_key = api_key
        self.timeout = timeout
        self.max_retries = max_retries
        self.backoff = backoff
        self.max_backoff = max_backoff
        self.max_retry_after = max_retry_after
        self._headers = dict(headers or {})
        self._sleep = sleep

    # -- transport ------------------------------------------------------------------------------------------------

    def _request(
        self,
        method: str,
        path: str,
        body: Any = None,
        *,
        headers: Optional[Mapping[str, str]] = None,
        safe: bool,
    ) -> Tuple[int, Dict[str, str], Any]:
        data = None if body is None else json.dumps(body).encode("utf-8")
        all_headers = {
            **self._headers,
            "Authorization": f"Bearer {self._api_key}",
            "Accept": "application/json",
            "User-Agent": "context-engine-python/0.1.0",
            **({} if data is None else {"Content-Type": "application/json"}),
            **(headers or {}),
        }
        attempt = 0
        while True:
            request = urllib.request.Request(self.base_url + path, data=data, headers=all_headers, method=method)
            try:
                with urllib.request.urlopen(request, timeout=self.timeout) as res:
                    raw = res.read()
                    return res.status, {k.lower(): v for k, v in res.headers.items()}, _json(raw)
            except urllib.error.HTTPError as res:
                error = _api_error(res.code, {k.lower(): v for k, v in res.headers.items()}, res.read())
                retryable = res.code == _RATE_LIMITED or (safe and res.code in _UNAVAILABLE)
                if not retryable or attempt >= self.max_retries:
                    raise error from None
                wait = self._wait(attempt, error.retry_after)
                if wait is None:
                    raise error from None
            except (urllib.error.URLError, http.client.HTTPException, OSError) as err:
                if not safe or attempt >= self.max_retries:
                    raise ContextConnectionError(f"{method} {path}: {getattr(err, 'reason', err)}") from err
                wait = self._wait(attempt, None)
                assert wait is not None
            self._sleep(wait)
            attempt += 1

    def _wait(self, attempt: int, retry_after: Optional[float]) -> Optional[float]:
        """How long to wait before the next attempt; None when the server asks for longer than max_retry_after."""
        if retry_after is not None:
            return retry_after if retry_after <= self.max_retry_after else None
        return min(self.max_backoff, self.backoff * (2**attempt)) * random.uniform(0.5, 1.0)

    def _json(self, method: str, path: str, body: Any = None, *, safe: bool) -> Any:
        return self._request(method, path, body, safe=safe)[2]

    # -- sessions and turns ---------------------------------------------------------------------------------------

    def write_turns(
        self,
        session_id: str,
        turns: List[Turn],
        *,
        user_id: Optional[str] = None,
        agent_id: Optional[str] = None,
        metadata: Optional[Dict[str, Any]] = None,
        resume_from: Optional[str] = None,
        return_context: Optional[ContextOptions] = None,
        idempotency_key: Optional[str] = None,
    ) -> WriteTurnsResult:
        """Appends turns in order (the session is created on its first write).

        With `return_context` (the QueryContext fields) the answer also holds `context`, the context of the next
        model call, or `context_error` when the turns were stored but the context could not be given.
        """
        body: Dict[str, Any] = {"turns": turns}
        for name, value in (
            ("user_id", user_id),
            ("agent_id", agent_id),
            ("metadata", metadata),
            ("resume_from", resume_from),
            ("return_context", return_context),
        ):
            if value is not None:
                body[name] = value
        key = idempotency_key or str(uuid.uuid4())
        _, headers, answer = self._request(
            "POST", f"/v1/sessions/{_seg(session_id)}/turns", body, headers={"Idempotency-Key": key}, safe=True
        )
        answer["replayed"] = headers.get("idempotent-replayed") == "true"
        return answer

    def query_context(
        self, session_id: str, budget_tokens: Optional[int] = None, **options: Any
    ) -> ContextResult:
        """The best context for the next model call within `budget_tokens` (or a `model_call_id`'s recipe)."""
        body = {k: v for k, v in options.items() if v is not None}
        if budget_tokens is not None:
            body["budget_tokens"] = budget_tokens
        return self._json("POST", f"/v1/sessions/{_seg(session_id)}/context", body, safe=True)

    def get_session(self, session_id: str) -> Dict[str, Any]:
        return self._json("GET", f"/v1/sessions/{_seg(session_id)}", safe=True)

    def list_turns(self, session_id: str, *, after_sequence: int = 0, limit: Optional[int] = None) -> Dict[str, Any]:
        """One page of stored turns; pass `next_cursor` back as `after_sequence`."""
        path = f"/v1/sessions/{_seg(session_id)}/turns{_query({'after_sequence': after_sequence, 'limit': limit})}"
        return self._json("GET", path, safe=True)

    def list_sessions(
        self,
        *,
        user_id: Optional[str] = None,
        agent_id: Optional[str] = None,
        limit: Optional[int] = None,
        cursor: Optional[str] = None,
    ) -> SessionPage:
        """One page of sessions, newest first; pass `next_cursor` back as `cursor`."""
        q = _query({"user_id": user_id, "agent_id": agent_id, "limit": limit, "cursor": cursor})
        return self._json("GET", f"/v1/sessions{q}", safe=True)

    def iter_sessions(
        self, *, user_id: Optional[str] = None, agent_id: Optional[str] = None, page_size: int = 100
    ) -> Iterator[SessionSummary]:
        """Every session (of a user and/or an agent), newest first, page by page."""
        cursor: Optional[str] = None
        while True:
            page = self.list_sessions(user_id=user_id, agent_id=agent_id, limit=page_size, cursor=cursor)
            yield from page["sessions"]
            cursor = page["next_cursor"]
            if not cursor:
                return

    def list_users(self, *, limit: Optional[int] = None, cursor: Optional[str] = None) -> Dict[str, Any]:
        return self._json("GET", f"/v1/users{_query({'limit': limit, 'cursor': cursor})}", safe=True)

    def list_agents(self, *, limit: Optional[int] = None, cursor: Optional[str] = None) -> Dict[str, Any]:
        return self._json("GET", f"/v1/agents{_query({'limit': limit, 'cursor': cursor})}", safe=True)

    def delete_session(self, session_id: str) -> None:
        """Deletes the session and everything derived from it. Deleting a deleted session is not an error."""
        self._delete(f"/v1/sessions/{_seg(session_id)}")

    # -- memories -------------------------------------------------------------------------------------------------

    def create_memory(self, scope: str, content: str, **fields: Any) -> Memory:
        """Stores a memory: scope user, agent or tool, with user_id, agent_id, or session_id and tool_call_id."""
        body = {"scope": scope, "content": content, **{k: v for k, v in fields.items() if v is not None}}
        # Not repeated after a lost answer: a second attempt would store a second memory.
        return self._json("POST", "/v1/memories", body, safe=False)

    def list_memories(self, **filters: Any) -> MemoryPage:
        """A page of memories, newest first: user_id, agent_id, session_id, scope, kind, origin, limit, cursor."""
        return self._json("GET", f"/v1/memories{_query(filters)}", safe=True)

    def search_memories(self, query: str, **filters: Any) -> List[Memory]:
        body = {"query": query, **{k: v for k, v in filters.items() if v is not None}}
        return self._json("POST", "/v1/memories/search", body, safe=True)["memories"]

    def delete_memory(self, memory_id: str) -> None:
        self._delete(f"/v1/memories/{_seg(memory_id)}")

    # -- service --------------------------------------------------------------------------------------------------

    def health(self) -> Dict[str, Any]:
        """Whether the service reaches its database; a 503 answer is returned, not raised."""
        try:
            return self._json("GET", "/healthz", safe=True)
        except ContextApiError as err:
            if err.status == 503 and isinstance(err.details, dict):
                return err.details
            raise

    def _delete(self, path: str) -> None:
        try:
            self._request("DELETE", path, safe=True)
        except ContextApiError as err:
            # Gone already (perhaps by an earlier attempt whose answer was lost): the outcome asked for.
            if err.code != "NOT_FOUND":
                raise


def _json(raw: bytes) -> Any:
    return json.loads(raw) if raw else None


def _api_error(status: int, headers: Mapping[str, str], raw: bytes) -> ContextApiError:
    retry_after = _retry_after(headers.get("retry-after"))
    try:
        body = json.loads(raw) if raw else None
    except ValueError:
        body = None
    error = body.get("error") if isinstance(body, dict) else None
    request_id = headers.get("x-request-id")
    if isinstance(error, dict) and error.get("code"):
        return ContextApiError(
            status,
            str(error["code"]),
            str(error.get("message") or error["code"]),
            error.get("request_id") or request_id,
            error.get("details"),
            retry_after,
        )
    if isinstance(body, dict) and status == 503:
        # /healthz answers 503 with its own report rather than an error body.
        return ContextApiError(status, "UNAVAILABLE", "unavailable", request_id, body, retry_after)
    text = raw[:500].decode("utf-8", "replace") or f"HTTP {status}"
    return ContextApiError(status, _CODE_FOR_STATUS.get(status, "INTERNAL"), text, request_id, None, retry_after)
