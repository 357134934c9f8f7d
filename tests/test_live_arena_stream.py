"""``ModelClient.stream``: a real openai SDK against a real server-sent-events server on
loopback (tests/openai_server.py), answering with a real Arena-Hard answer, piece by piece.

The faults a live arena meets: a 429 before the answer (Retry-After obeyed), a connection cut
mid-answer, an error event mid-answer, a stall longer than the timeout, a server error for
good, a stop from the person; and what must never happen: a cached answer, a key read from
anywhere but the environment variable the configuration names.
"""

from __future__ import annotations

import math
import threading
import time

import pytest
from openai_server import FOLLOW_UP_OPENING, ReplayScript, Reply, ScriptedOpenAIServer

from arena_kit.models import ModelClient, ModelError

PROMPT = "write a code to generate random password in python"


@pytest.fixture(scope="module")
def real_answer():
    return ReplayScript.from_arena_hard().answer("gpt-4-0314", PROMPT, 1)


def client_for(server, **settings):
    config = {
        "base_url": server.base_url,
        "api_key_env": None,
        "cache_dir": None,
        "max_retries": 4,
        "backoff_s": 0.02,
        "timeout_s": 2.0,
        **settings,
    }
    return ModelClient(config)


def ask(client, **callbacks):
    return client.stream("gpt-4-0314", [{"role": "user", "content": PROMPT}], **callbacks)


def test_a_streamed_answer_arrives_piece_by_piece(real_answer):
    assert "```python" in real_answer  # a real answer with code
    pieces: list[str] = []
    with ScriptedOpenAIServer(queue=[Reply(text=real_answer, chunk_chars=20)]) as server:
        client = client_for(server)
        completion = ask(client, on_text=pieces.append)
        (body,) = server.bodies()
    assert completion.ok and completion.finish_reason == "stop"
    assert completion.text == real_answer == "".join(pieces)
    assert len(pieces) == math.ceil(len(real_answer) / 20)  # one call per chunk sent
    assert body["stream"] is True and body["stream_options"] == {"include_usage": True}
    assert completion.output_tokens == len(real_answer) // 4  # from the usage chunk
    usage = client.usage().set_index("model").loc["gpt-4-0314"]
    assert usage["requests"] == 1 and usage["output_tokens"] == completion.output_tokens


def test_faults_mid_stream_are_retried_and_said(real_answer):
    """Each fault is retried from the start of the answer, and the caller is told what failed
    and how long it waits; the text of a failed attempt is void."""
    faults = [
        Reply(text=real_answer, status=429, retry_after="0.15"),
        Reply(text=real_answer, cut_after=200),  # the connection drops mid-answer
        Reply(text=real_answer, error_after=120, error_status=429),  # an error event
        Reply(text=real_answer, stall_after=60, stall_s=1.5),  # longer than timeout_s
        Reply(text=real_answer, chunk_chars=30),
    ]
    pieces: list[str] = []
    notices = []

    def retry(notice):
        notices.append(notice)
        pieces.clear()

    with ScriptedOpenAIServer(queue=faults) as server:
        client = client_for(server, timeout_s=0.5)
        completion = ask(client, on_text=pieces.append, on_retry=retry)
    assert completion.ok and completion.attempts == 5
    assert "".join(pieces) == completion.text == real_answer
    said = [str(n) for n in notices]
    assert "HTTP 429" in said[0] and notices[0].wait_s == pytest.approx(0.15)
    assert "cut mid-answer (after 204 characters" in said[1]
    assert "stopped the answer with an error" in said[2] and "429" in said[2]
    assert "stalled for more than 0.5 s" in said[3]
    assert [n.attempt for n in notices] == [2, 3, 4, 5] and {n.attempts for n in notices} == {5}
    assert all("retrying in" in s for s in said)
    assert client.usage().set_index("model").loc["gpt-4-0314", "retries"] == 4


def test_a_request_that_fails_for_good_says_why(real_answer):
    with ScriptedOpenAIServer(queue=[Reply(status=503)] * 3 + [Reply(status=401)]) as server:
        client = client_for(server, max_retries=2)
        notices = []
        failed = ask(client, on_retry=notices.append)
        assert not failed.ok and failed.attempts == 3 and len(notices) == 2
        assert "HTTP 503" in failed.error and "after 3 attempt(s)" in failed.error
        refused = ask(client)  # 401 is not retried
        assert refused.attempts == 1 and "HTTP 401" in refused.error
        assert len(server.requests) == 4


def test_cancel_stops_a_stream_at_once(real_answer):
    cancel = threading.Event()
    pieces: list[str] = []
    slow = Reply(text=real_answer, chunk_chars=10, chunk_delay_s=0.05)
    with ScriptedOpenAIServer(queue=[slow]) as server:
        client = client_for(server)
        threading.Timer(0.4, cancel.set).start()
        started = time.perf_counter()
        completion = ask(client, on_text=pieces.append, cancel=cancel)
        took = time.perf_counter() - started
        time.sleep(0.3)  # the server notices the closed connection at its next writes
        sent = max(chars for _, _, chars, _ in server.sent)
        time.sleep(0.5)
        assert max(chars for _, _, chars, _ in server.sent) == sent  # it stopped sending
    assert completion.cancelled and completion.error == "cancelled"
    assert 0.4 <= took < 1.0  # at the next piece (50 ms apart), with room for a busy machine
    assert 0 < len("".join(pieces)) < sent < len(real_answer)


def test_a_cancel_during_a_backoff_wait_returns_at_once(real_answer):
    cancel = threading.Event()
    with ScriptedOpenAIServer(queue=[Reply(status=429, retry_after="30")]) as server:
        client = client_for(server)
        threading.Timer(0.3, cancel.set).start()
        started = time.perf_counter()
        completion = ask(client, cancel=cancel)
    assert completion.cancelled and time.perf_counter() - started < 1.0


def test_streaming_never_reads_or_writes_the_cache(tmp_path, real_answer):
    script = ReplayScript({"gpt-4-0314": {PROMPT: real_answer}})
    with ScriptedOpenAIServer(script=script) as server:
        client = client_for(server, cache_dir=str(tmp_path / "cache"))
        first, second = ask(client), ask(client)
        assert len(server.requests) == 2  # the same prompt, asked twice: two fresh answers
    assert first.text == second.text == real_answer and not first.cached
    assert not (tmp_path / "cache").exists()


def test_replayed_follow_ups_are_other_real_answers():
    script = ReplayScript.from_arena_hard()
    first = script.answer("gpt-4-0613", PROMPT, 1)
    second = script.answer("gpt-4-0613", PROMPT, 2)
    third = script.answer("gpt-4-0613", PROMPT, 3)
    assert second == FOLLOW_UP_OPENING + script.answer("gpt-3.5-turbo-0125", PROMPT, 1)
    assert third == FOLLOW_UP_OPENING + script.answer("gpt-4-0314", PROMPT, 1)
    assert len({first, second, third}) == 3


def test_the_key_comes_only_from_the_named_environment_variable(monkeypatch, real_answer):
    key = "sk-live-test-" + "7" * 24
    monkeypatch.delenv("ARENA_LIVE_TEST_KEY", raising=False)
    with ScriptedOpenAIServer(queue=[Reply(text=real_answer)]) as server:
        client = client_for(server, api_key_env="ARENA_LIVE_TEST_KEY")
        with pytest.raises(ModelError, match="ARENA_LIVE_TEST_KEY"):
            ask(client)
        monkeypatch.setenv("ARENA_LIVE_TEST_KEY", key)
        client = client_for(server, api_key_env="ARENA_LIVE_TEST_KEY")
        assert ask(client).ok
        (request,) = server.requests
    assert request["headers"]["authorization"] == f"Bearer {key}"
    assert key not in repr(client)
