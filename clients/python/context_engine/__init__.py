"""Python client of the context engine API: write turns, ask for context, keep memories (standard library only)."""

from .client import ContextClient
from .errors import ContextApiError, ContextConnectionError, ContextEngineError

__all__ = ["ContextClient", "ContextApiError", "ContextConnectionError", "ContextEngineError"]
__version__ = "0.1.0"
