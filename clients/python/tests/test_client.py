"""The client against a running server (CONTEXT_ENGINE_URL, CONTEXT_ENGINE_API_KEY, CONTEXT_ENGINE_ADMIN_KEY), and
through a local proxy that injects faults in front of it: refusals, rate limits and answers lost after the write."""

from __future__ import annotations

import json
import os
import threading
import time
import unittest
import urllib.error
import urllib.request
import uuid
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any, Dict, List, Optional, Tuple

from context_engine import ContextApiError, ContextClient, ContextConnectionError

TURNS = [
    {"role": "user", "content": "My name is Ada and I am planning a trip to Lisbon in May."},
    {"role": "assistant", "content": "Great, Lisbon in May is lovely. Do you prefer hotels or apartments?"},
    {"role": "user", "content": "Apartments near Alfama, budget 120 euros per night."},
]


def setting(name: str) -> str:
    value = os.environ.get(name)
    if not value:
        raise RuntimeError(f"{name} must name the server these tests run against")
    return value


URL = setting("CONTEXT_ENGINE_URL")
ADMIN_KEY = setting("CONTEXT_ENGINE_ADMIN_KEY")


def new_key(scopes: List[str]) -> str:
    """A key of a tenant of its own, so that each test sees only its own data."""
    request = urllib.request.Request(
        f"{URL}/v1/admin/keys",
        data=json.dumps({"tenant": f"py-{uuid.uuid4().hex[:10]}", "scopes": scopes}).encode(),
        headers={"Authorization": f"Bearer {ADMIN_KEY}", "Content-Type": "application/json"},
        method="POST",
    )
    with urllib.request.urlopen(request, timeout=10) as res:
        return json.loads(res.read())["key"]


class FaultProxy:
    """Forwards to the server, except for the faults queued for the next requests:
    ("status", code, headers) answers that itself; ("lose", None, None) forwards, then closes without answering."""

    def __init__(self) -> None:
        self.faults: List[Tuple[str, Optional[int], Optional[Dict[str, str]]]] = []
        self.seen: List[Dict[str, Any]] = []
        proxy = self

        class Handler(BaseHTTPRequestHandler):
            def log_message(self, *args: Any) -> None:
                pass

            def _handle(self) -> None:
                length = int(self.headers.get("Content-Length") or 0)
                body = self.rfile.read(length) if length else None
                seen = {"method": self.command, "path": self.path, "headers": dict(self.headers)}
                proxy.seen.append({**seen, "at": time.monotonic()})
                kind, status, headers = proxy.faults.pop(0) if proxy.faults else ("pass", None, None)
                if kind == "status":
                    code = "RATE_LIMITED" if status == 429 else "UNAVAILABLE"
                    payload = json.dumps({"error": {"code": code, "message": "injected", "request_id": "p"}}).encode()
                    self.send_response(status or 500)
                    for k, v in (headers or {}).items():
                        self.send_header(k, v)
                    self.send_header("Content-Type", "application/json")
                    self.send_header("Content-Length", str(len(payload)))
                    self.end_headers()
                    self.wfile.write(payload)
                    return
                hop = ("host", "content-length", "connection")
                forward = {k: v for k, v in self.headers.items() if k.lower() not in hop}
                request = urllib.request.Request(URL + self.path, data=body, headers=forward, method=self.command)
                try:
                    with urllib.request.urlopen(request, timeout=30) as res:
                        code, out_headers, out = res.status, res.headers.items(), res.read()
                except urllib.error.HTTPError as res:
                    code, out_headers, out = res.code, res.headers.items(), res.read()
                if kind == "lose":
                    self.close_connection = True
                    self.connection.close()
                    return
                self.send_response(code)
                for k, v in out_headers:
                    if k.lower() not in ("transfer-encoding", "connection", "content-length"):
                        self.send_header(k, v)
                self.send_header("Content-Length", str(len(out)))
                self.end_headers()
                self.wfile.write(out)

            do_GET = do_POST = do_DELETE = do_PUT = _handle

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}"
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)
        self.thread.start()

    def close(self) -> None:
        self.server.shutdown()
        self.server.server_close()


class ClientTest(unittest.TestCase):
    def setUp(self) -> None:
        self.key = new_key(["read", "write"])
        self.client = ContextClient(URL, self.key, timeout=30)

    def test_writes_turns_and_queries_context_within_the_budget(self) -> None:
        written = self.client.write_turns("trip", TURNS, user_id="ada", agent_id="travel")
        self.assertTrue(written["session_created"])
        self.assertEqual([t["sequence"] for t in written["turns"]], [1, 2, 3])
        self.assertFalse(written["replayed"])
        context = self.client.query_context("trip", 300, query="Where does Ada want to stay?")
        self.assertLessEqual(context["token_count"], 300)
        self.assertIn("Alfama", context["rendered"]["text"])
        self.assertEqual(context["rendered"]["messages"][0]["role"], "system")
        self.assertEqual(self.client.get_session("trip")["turn_count"], 3)

    def test_one_call_turn_returns_the_next_context(self) -> None:
        written = self.client.write_turns("trip", TURNS, return_context={"query": "budget", "budget_tokens": 200})
        self.assertIn("120 euros", written["context"]["rendered"]["text"])
        self.assertLessEqual(written["context"]["token_count"], 200)
        answer = [{"role": "assistant", "content": "Noted."}]
        failed = self.client.write_turns("trip", answer, return_context={"model_call_id": "none"})
        self.assertEqual(failed["context_error"]["code"], "NOT_FOUND")
        self.assertEqual(self.client.get_session("trip")["turn_count"], 4)

    def test_an_idempotency_key_stores_a_write_once(self) -> None:
        first = self.client.write_turns("s", TURNS, idempotency_key="k-1")
        again = self.client.write_turns("s", TURNS, idempotency_key="k-1")
        self.assertTrue(again["replayed"])
        self.assertEqual(again["turns"], first["turns"])
        self.assertEqual(self.client.get_session("s")["turn_count"], 3)

    def test_lists_sessions_of_a_user_page_by_page(self) -> None:
        for i in range(5):
            self.client.write_turns(f"s-{i}", TURNS[:1], user_id="ada" if i % 2 == 0 else "bob", agent_id="travel")
        ada = [s["session_id"] for s in self.client.iter_sessions(user_id="ada", page_size=2)]
        self.assertEqual(ada, ["s-4", "s-2", "s-0"])
        page = self.client.list_sessions(limit=3)
        self.assertEqual(len(page["sessions"]), 3)
        rest = self.client.list_sessions(limit=3, cursor=page["next_cursor"])
        self.assertEqual([s["session_id"] for s in rest["sessions"]], ["s-1", "s-0"])
        self.assertIsNone(rest["next_cursor"])
        self.assertEqual({u["user_id"] for u in self.client.list_users()["users"]}, {"ada", "bob"})
        self.assertEqual([a["agent_id"] for a in self.client.list_agents()["agents"]], ["travel"])

    def test_memories_are_created_listed_searched_and_deleted(self) -> None:
        memory = self.client.create_memory("user", "Prefers apartments near Alfama.", user_id="ada", kind="preference")
        self.assertEqual(memory["scope"], "user")
        self.assertEqual([m["id"] for m in self.client.list_memories(user_id="ada")["memories"]], [memory["id"]])
        found = self.client.search_memories("apartments Alfama", user_id="ada")
        self.assertEqual([m["id"] for m in found], [memory["id"]])
        self.client.delete_memory(memory["id"])
        self.client.delete_memory(memory["id"])
        self.assertEqual(self.client.list_memories(user_id="ada")["memories"], [])

    def test_health_and_deletion(self) -> None:
        self.assertEqual(self.client.health(), {"status": "ok", "database": "pglite"})
        self.client.write_turns("gone", TURNS)
        self.client.delete_session("gone")
        with self.assertRaises(ContextApiError) as err:
            self.client.get_session("gone")
        self.assertEqual(err.exception.code, "NOT_FOUND")
        self.client.delete_session("gone")  # deleting what is gone is the outcome asked for

    def test_errors_are_exceptions_with_the_stable_code(self) -> None:
        with self.assertRaises(ContextApiError) as bad:
            self.client.query_context("nope", 0)
        self.assertEqual((bad.exception.status, bad.exception.code), (400, "BAD_REQUEST"))
        self.assertIn("budget_tokens", bad.exception.message)
        self.assertTrue(bad.exception.request_id)
        with self.assertRaises(ContextApiError) as missing:
            self.client.query_context("nope", 100)
        self.assertEqual(missing.exception.code, "NOT_FOUND")
        with self.assertRaises(ContextApiError) as unknown:
            ContextClient(URL, "ctx_not_a_key").list_sessions()
        self.assertEqual(unknown.exception.code, "UNAUTHORIZED")
        reader = ContextClient(URL, new_key(["read"]))
        with self.assertRaises(ContextApiError) as forbidden:
            reader.write_turns("s", TURNS)
        self.assertEqual((forbidden.exception.status, forbidden.exception.code), (403, "FORBIDDEN"))


class RetryTest(unittest.TestCase):
    def setUp(self) -> None:
        self.proxy = FaultProxy()
        self.key = new_key(["read", "write"])
        self.direct = ContextClient(URL, self.key)
        self.client = ContextClient(self.proxy.url, self.key, backoff=0.05, max_backoff=0.2)

    def tearDown(self) -> None:
        self.proxy.close()

    def test_waits_the_retry_after_of_a_429_and_sends_the_same_idempotency_key(self) -> None:
        self.proxy.faults.append(("status", 429, {"Retry-After": "1"}))
        written = self.client.write_turns("s", TURNS)
        self.assertEqual(len(written["turns"]), 3)
        first, second = self.proxy.seen
        self.assertGreaterEqual(second["at"] - first["at"], 1.0)
        self.assertEqual(first["headers"]["Idempotency-Key"], second["headers"]["Idempotency-Key"])
        self.assertEqual(self.direct.get_session("s")["turn_count"], 3)

    def test_a_write_whose_answer_was_lost_is_stored_once(self) -> None:
        self.proxy.faults.append(("lose", None, None))
        written = self.client.write_turns("s", TURNS)
        self.assertEqual(len(self.proxy.seen), 2)
        self.assertTrue(written["replayed"])
        self.assertEqual(self.direct.get_session("s")["turn_count"], 3)

    def test_retries_an_unavailable_read_with_backoff(self) -> None:
        self.direct.write_turns("s", TURNS)
        self.proxy.faults.extend([("status", 503, None), ("status", 502, None)])
        context = self.client.query_context("s", 200)
        self.assertLessEqual(context["token_count"], 200)
        self.assertEqual(len(self.proxy.seen), 3)

    def test_does_not_repeat_an_unsafe_write_that_may_have_run(self) -> None:
        self.proxy.faults.append(("status", 503, None))
        with self.assertRaises(ContextApiError) as err:
            self.client.create_memory("user", "Likes trams.", user_id="ada")
        self.assertEqual(err.exception.code, "UNAVAILABLE")
        self.assertEqual(len(self.proxy.seen), 1)

    def test_gives_up_on_a_retry_after_beyond_its_bound(self) -> None:
        self.proxy.faults.append(("status", 429, {"Retry-After": "3600"}))
        started = time.monotonic()
        with self.assertRaises(ContextApiError) as err:
            self.client.list_sessions()
        self.assertEqual((err.exception.code, err.exception.retry_after), ("RATE_LIMITED", 3600.0))
        self.assertLess(time.monotonic() - started, 1.0)

    def test_stops_after_max_retries(self) -> None:
        self.proxy.faults.extend([("status", 503, None)] * 5)
        with self.assertRaises(ContextApiError):
            self.client.list_sessions()
        self.assertEqual(len(self.proxy.seen), 4)

    def test_a_refused_connection_is_a_connection_error(self) -> None:
        url = self.proxy.url
        self.proxy.close()
        client = ContextClient(url, self.key, max_retries=2, backoff=0.01)
        with self.assertRaises(ContextConnectionError):
            client.list_sessions()


if __name__ == "__main__":
    unittest.main()
