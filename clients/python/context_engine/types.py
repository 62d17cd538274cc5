"""Request and answer shapes of the context engine API, as TypedDicts (answers are plain dicts at run time)."""

from __future__ import annotations

from typing import Any, Dict, List, Literal, Optional, TypedDict

Role = Literal["user", "assistant", "tool", "system"]


class ToolCall(TypedDict, total=False):
    id: str
    name: str
    arguments: Any


class Turn(TypedDict, total=False):
    role: Role
    content: str
    name: str
    external_id: str
    created_at: str
    tool_call_id: str
    tool_calls: List[ToolCall]
    importance: float
    metadata: Dict[str, Any]


class ContextOptions(TypedDict, total=False):
    """The fields of QueryContext (and of `return_context` on a write)."""

    query: str
    budget_tokens: int
    reserve_tokens: int
    template: Literal["default", "compact"]
    recent_turns: int
    time_range: Dict[str, str]
    section_weights: Dict[str, float]
    history_scope: Literal["session", "user"]
    model_call_id: str
    flow_id: str


class RenderedMessage(TypedDict):
    role: Literal["system", "user"]
    content: str


class Rendered(TypedDict):
    text: str
    messages: List[RenderedMessage]


class ContextResult(TypedDict, total=False):
    session_id: str
    request_id: str
    session_version: int
    envelope: Dict[str, Any]
    rendered: Rendered
    token_count: int
    cached: bool
    source: Literal["precomputed", "live"]
    model_call_id: Optional[str]
    strategy: str
    variant: str


class WrittenTurn(TypedDict):
    id: str
    sequence: int
    token_count: int
    external_id: Optional[str]
    duplicate: bool


class ContextError(TypedDict):
    code: str
    message: str


class WriteTurnsResult(TypedDict, total=False):
    session_id: str
    session_created: bool
    turns: List[WrittenTurn]
    total_tokens: int
    compression_queued: bool
    resumed_from: Optional[str]
    context: ContextResult
    context_error: ContextError
    replayed: bool


class SessionSummary(TypedDict):
    session_id: str
    agent_id: Optional[str]
    user_id: Optional[str]
    status: str
    metadata: Dict[str, Any]
    turn_count: int
    total_tokens: int
    version: int
    created_at: str
    updated_at: str


class SessionPage(TypedDict):
    sessions: List[SessionSummary]
    next_cursor: Optional[str]


class Memory(TypedDict, total=False):
    id: str
    scope: Literal["user", "agent", "tool"]
    kind: str
    content: str
    user_id: Optional[str]
    agent_id: Optional[str]
    session_id: Optional[str]
    tool_call_id: Optional[str]
    shared_group_ids: List[str]
    importance: float
    token_count: int
    metadata: Dict[str, Any]
    created_at: str
    origin: Literal["written", "learned"]
    valid_from: str
    valid_to: Optional[str]
    score: float


class MemoryPage(TypedDict):
    memories: List[Memory]
    next_cursor: Optional[str]
