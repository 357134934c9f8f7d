"""The model client against a real HTTP server on loopback, through the real openai SDK."""

from __future__ import annotations

import json
import time
import warnings
from pathlib import Path

import pandas as pd
import pytest
from openai_server import Reply, ScriptedOpenAIServer, last_user_text

from arena_kit.models import (
    DEFAULT_SYSTEM_PROMPT,
    ClientConfig,
    ModelClient,
    ModelError,
    generate,
    image_part,
    user_message,
)
from arena_kit.schema import validate

SECRET = "sk-test-DO-NOT-LEAK-7f3a9c"
HELLO = [{"role": "user", "content": "hello"}]


@pytest.fixture
def server():
    with ScriptedOpenAIServer() as running:
        yield running


@pytest.fixture
def key(monkeypatch):
    monkeypatch.setenv("ARENA_TEST_KEY", SECRET)
    return "ARENA_TEST_KEY"


def make_client(server, tmp_path, key_env="ARENA_TEST_KEY", **overrides):
    settings = {
        "base_url": server.base_url,
        "api_key_env": key_env,
        "cache_dir": str(tmp_path / "cache"),
        "backoff_s": 0.01,
        "max_retries": 3,
        "timeout_s": 5,
        "models": {"judge-x": {"model": "served-x", "price_in": 2.0, "price_out": 10.0}},
    }
    settings.update(overrides)
    return ModelClient(settings)


# -- configuration -----------------------------------------------------------------------------


def test_yaml_configuration_is_read(tmp_path):
    path = tmp_path / "models.yaml"
    path.write_text(
        "base_url: http://127.0.0.1:9/v1\n"
        "api_key_env: null\n"
        "concurrency: 3\n"
        "models:\n"
        "  small:\n"
        "    model: served-small\n"
        "    temperature: 0\n"
        "    vision: true\n"
        "  other:\n"
    )
    config = ClientConfig.from_yaml(path)
    assert config.concurrency == 3
    assert config.api_key_env is None
    assert config.spec("small").model == "served-small"
    assert config.spec("small").parameters() == {"temperature": 0}
    assert config.spec("small").vision
    assert config.spec("other").model == "other"
    assert ModelClient.from_yaml(path).config == config


def test_configuration_rejects_unknown_settings_and_written_keys(tmp_path):
    with pytest.raises(ModelError, match="unknown setting"):
        ClientConfig.from_dict({"concurency": 3})
    with pytest.raises(ModelError, match="unknown setting.*tempertaure"):
        ClientConfig.from_dict({"models": {"m": {"tempertaure": 0}}})
    with pytest.raises(ModelError, match="API key is written"):
        ClientConfig.from_dict({"api_key": "sk-123"})
    with pytest.raises(ModelError, match="not found"):
        ClientConfig.from_yaml(tmp_path / "missing.yaml")


def test_missing_key_variable_is_named(server, tmp_path, monkeypatch):
    monkeypatch.delenv("ARENA_UNSET_KEY", raising=False)
    client = make_client(server, tmp_path, key_env="ARENA_UNSET_KEY")
    with pytest.raises(ModelError, match="ARENA_UNSET_KEY"):
        client.complete("judge-x", HELLO)
    assert server.requests == []


# -- one request -------------------------------------------------------------------------------


def test_complete_sends_the_key_and_accounts_tokens_and_cost(server, tmp_path, key):
    server.queue.append(Reply(text="hi there", prompt_tokens=1000, completion_tokens=500))
    client = make_client(server, tmp_path)
    answer = client.complete("judge-x", HELLO)
    assert answer.text == "hi there"
    assert (answer.input_tokens, answer.output_tokens) == (1000, 500)
    assert answer.cost_usd == pytest.approx((1000 * 2.0 + 500 * 10.0) / 1e6)
    assert not answer.cached
    request = server.requests[0]
    assert request["body"]["model"] == "served-x"
    assert request["body"]["messages"] == HELLO
    assert request["headers"]["authorization"] == f"Bearer {SECRET}"
    usage = client.usage().set_index("model").loc["judge-x"]
    assert usage["requests"] == 1 and usage["input_tokens"] == 1000
    assert usage["cost_usd"] == pytest.approx(0.007)


def test_cache_hit_sends_nothing_and_never_stores_the_key(server, tmp_path, key):
    client = make_client(server, tmp_path)
    first = client.complete("judge-x", HELLO)
    second = client.complete("judge-x", HELLO)
    assert len(server.requests) == 1
    assert second.cached and second.text == first.text
    files = list((tmp_path / "cache").rglob("*"))
    stored = [f for f in files if f.is_file()]
    assert len(stored) == 1 and stored[0].suffix == ".json"
    for path in stored:
        assert SECRET not in path.read_text()
    assert SECRET not in repr(client)
    assert SECRET not in client.usage().to_string()
    # A fresh client (a new notebook session) reads the same cache.
    again = make_client(server, tmp_path).complete("judge-x", HELLO)
    assert again.cached and len(server.requests) == 1
    # The key is not part of the cache key: another key, same entry.
    assert client.cache_key("judge-x", HELLO) == make_client(
        server, tmp_path, key_env=None
    ).cache_key("judge-x", HELLO)
    # Different messages or parameters: a different entry.
    assert client.cache_key("judge-x", HELLO) != client.cache_key(
        "judge-x", [{"role": "user", "content": "bye"}]
    )
    other = make_client(server, tmp_path, models={"judge-x": {"temperature": 0.7}})
    assert other.cache_key("judge-x", HELLO) != client.cache_key("judge-x", HELLO)


def test_damaged_cache_entry_is_a_miss(server, tmp_path, key):
    client = make_client(server, tmp_path)
    client.complete("judge-x", HELLO)
    entry = next(p for p in (tmp_path / "cache").rglob("*.json"))
    entry.write_text('{"text": "cut')
    assert not client.complete("judge-x", HELLO).cached
    assert len(server.requests) == 2
    assert json.loads(entry.read_text())["text"] == "OK"


def test_429_and_5xx_are_retried(server, tmp_path, key):
    server.queue.extend([Reply(status=429, retry_after="0"), Reply(status=503), Reply(text="ok")])
    client = make_client(server, tmp_path)
    answer = client.complete("judge-x", HELLO)
    assert answer.text == "ok" and answer.attempts == 3
    usage = client.usage().set_index("model").loc["judge-x"]
    assert (usage["requests"], usage["retries"], usage["failures"]) == (3, 2, 0)


def test_retry_after_is_obeyed(server, tmp_path, key):
    server.queue.extend([Reply(status=429, retry_after="0.4"), Reply(text="ok")])
    client = make_client(server, tmp_path)
    started = time.perf_counter()
    assert client.complete("judge-x", HELLO).text == "ok"
    assert time.perf_counter() - started >= 0.4


def test_persistent_errors_give_up_after_max_retries(server, tmp_path, key):
    server.queue.extend([Reply(status=500)] * 6)
    client = make_client(server, tmp_path, max_retries=2)
    answer = client.complete("judge-x", HELLO, raise_on_error=False)
    assert not answer.ok and "HTTP 500" in answer.error and "3 attempt" in answer.error
    assert len(server.requests) == 3
    with pytest.raises(ModelError, match="HTTP 500"):
        client.complete("judge-x", HELLO)
    assert not list((tmp_path / "cache").rglob("*.json")), "failures must not be cached"


def test_client_errors_are_not_retried(server, tmp_path, key):
    server.queue.append(Reply(status=400))
    answer = make_client(server, tmp_path).complete("judge-x", HELLO, raise_on_error=False)
    assert "HTTP 400" in answer.error and answer.attempts == 1
    assert len(server.requests) == 1


def test_timeout_is_retried_then_succeeds(server, tmp_path, key):
    server.queue.extend([Reply(text="late", delay_s=1.5), Reply(text="on time")])
    client = make_client(server, tmp_path, timeout_s=0.4)
    answer = client.complete("judge-x", HELLO)
    assert answer.text == "on time" and answer.attempts == 2


def test_timeout_failure_says_so(server, tmp_path, key):
    server.queue.extend([Reply(delay_s=1.0)] * 2)
    client = make_client(server, tmp_path, timeout_s=0.3, max_retries=1)
    answer = client.complete("judge-x", HELLO, raise_on_error=False)
    assert "no answer" in answer.error and "0.3 s" in answer.error


def test_malformed_body_is_an_error_not_a_crash(server, tmp_path, key):
    server.queue.extend([Reply(raw=b"<html>proxy error</html>"), Reply(raw=b'{"choices": []}')])
    client = make_client(server, tmp_path, max_retries=1)
    answer = client.complete("judge-x", HELLO, raise_on_error=False)
    assert not answer.ok and "malformed answer" in answer.error


def test_unreachable_server_is_reported(tmp_path, key):
    with ScriptedOpenAIServer() as gone:
        url = gone.base_url
    client = ModelClient({"base_url": url, "api_key_env": key, "cache_dir": None, "max_retries": 0})
    answer = client.complete("m", HELLO, raise_on_error=False)
    assert "cannot reach" in answer.error


def test_images_are_sent_as_data_urls(server, tmp_path, key):
    picture = tmp_path / "shot.png"
    picture.write_bytes(b"\x89PNG\r\n\x1a\nfake")
    part = image_part(picture)
    assert part["image_url"]["url"].startswith("data:image/png;base64,")
    client = make_client(server, tmp_path)
    client.complete("judge-x", [user_message("look", [picture])])
    content = server.requests[0]["body"]["messages"][0]["content"]
    assert content[0] == {"type": "text", "text": "look"}
    assert content[1]["type"] == "image_url"
    assert user_message("plain") == {"role": "user", "content": "plain"}


# -- many requests -----------------------------------------------------------------------------


def test_concurrency_is_limited_and_used(tmp_path, key):
    with ScriptedOpenAIServer(latency_s=0.2) as slow:
        client = make_client(slow, tmp_path, concurrency=4, cache_dir=None)
        requests = [("judge-x", [{"role": "user", "content": f"q{i}"}]) for i in range(8)]
        started = time.perf_counter()
        answers = client.complete_many(requests, progress=False)
        elapsed = time.perf_counter() - started
    assert [a.ok for a in answers] == [True] * 8
    assert slow.max_in_flight == 4
    assert elapsed < 8 * 0.2 * 0.75, "requests did not overlap"


def test_complete_many_keeps_order_and_isolates_failures(server, tmp_path, key):
    def script(request):
        text = last_user_text(request)
        return Reply(status=400) if text == "q3" else Reply(text=text.upper())

    server.script = script
    client = make_client(server, tmp_path, concurrency=3)
    requests = [("judge-x", [{"role": "user", "content": f"q{i}"}]) for i in range(6)]
    answers = client.complete_many(requests, progress=False)
    assert [a.text for a in answers] == ["Q0", "Q1", "Q2", "", "Q4", "Q5"]
    assert not answers[3].ok


def test_generate_builds_the_responses_table(server, tmp_path, key):
    server.script = lambda request: Reply(text=f"```python\nprint({request['model']!r})\n```")
    prompts = pd.DataFrame(
        {"prompt_id": ["p1", "p2"], "instruction": ["make a game", "plot sin(x)"]}
    )
    client = make_client(server, tmp_path, models={"m1": {}, "m2": {"model": "served-2"}})
    responses = generate(prompts, ["m1", "m2"], client=client, progress=False)
    assert validate(responses, "responses").shape[0] == 4
    assert set(zip(responses["prompt_id"], responses["model"], strict=True)) == {
        ("p1", "m1"), ("p1", "m2"), ("p2", "m1"), ("p2", "m2"),
    }  # fmt: skip
    row = responses[(responses["prompt_id"] == "p2") & (responses["model"] == "m2")].iloc[0]
    assert [m["role"] for m in row["messages"]] == ["system", "user", "assistant"]
    assert row["messages"][0]["content"] == DEFAULT_SYSTEM_PROMPT
    assert row["messages"][1]["content"] == "plot sin(x)"
    assert "served-2" in row["messages"][2]["content"]
    assert row["turn"] == 1 and responses["response_id"].is_unique
    # Same run again: all from the cache, same ids.
    again = generate(prompts, ["m1", "m2"], client=client, progress=False)
    assert len(server.requests) == 4
    assert list(again["response_id"]) == list(responses["response_id"])


def test_generate_without_system_prompt_and_with_failures(server, tmp_path, key):
    server.script = lambda request: (
        Reply(status=400) if "broken" in last_user_text(request) else Reply(text="fine")
    )
    prompts = [
        {"prompt_id": "ok", "instruction": "fine one"},
        {"prompt_id": "bad", "instruction": "broken one"},
    ]
    client = make_client(server, tmp_path)
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        responses = generate(prompts, "m", client=client, system_prompt=None, progress=False)
    assert list(responses["prompt_id"]) == ["ok"]
    assert responses["messages"][0][0]["role"] == "user"
    assert any("1 of 2 request(s) failed" in str(w.message) for w in caught)
    with pytest.raises(ModelError, match="bad"):
        generate(prompts, "m", client=client, on_error="raise", progress=False, use_cache=False)


def test_uid_column_of_autocodearena_file_is_accepted(server, tmp_path, key):
    prompts = [{"uid": "u1", "instruction": "x"}]
    responses = generate(prompts, "m", client=make_client(server, tmp_path), progress=False)
    assert list(responses["prompt_id"]) == ["u1"]


def test_keyless_server(server, tmp_path):
    client = make_client(server, tmp_path, key_env=None)
    assert client.complete("m", HELLO).text == "OK"
    assert server.requests[0]["headers"]["authorization"] == "Bearer no-key"


def test_cache_can_be_switched_off(server, tmp_path, key):
    client = make_client(server, tmp_path, cache_dir=None)
    client.complete("m", HELLO)
    client.complete("m", HELLO)
    assert len(server.requests) == 2
    assert not Path(tmp_path / "cache").exists()


def test_the_documented_example_configuration_is_valid():
    config = ClientConfig.from_yaml(Path(__file__).parent.parent / "docs" / "models.example.yaml")
    assert config.spec("gpt-4o").vision and config.spec("gpt-4o").price_out == 10.0
    local = config.spec("qwen-coder-local")
    assert local.api_key_env is None and local.model.startswith("Qwen/")
    client = ModelClient(config)
    assert client._endpoint(local) == ("http://127.0.0.1:8000/v1", None)
    assert client._endpoint(config.spec("gpt-4o")) == (
        "https://api.openai.com/v1",
        "OPENAI_API_KEY",
    )


def test_overrides_are_checked_and_models_parsed(tmp_path):
    base = ClientConfig.from_dict({"models": {"a": {"temperature": 0.0}}})
    client = ModelClient(base, concurrency=2, models={"b": {"model": "served-b", "vision": True}})
    assert client.config.concurrency == 2
    assert client.config.spec("b").model == "served-b" and client.config.spec("b").vision
    with pytest.raises(ModelError, match="unknown setting"):
        ModelClient(base, concurency=2)
    with pytest.raises(ModelError, match="API key is written"):
        ModelClient(base, models={"b": {"api_key": "sk-1"}})
    with pytest.raises(ModelError, match="at least 1"):
        ModelClient(base, concurrency=0)
