"""Judges end to end: battles from the tables, the heuristic and LLM judges (through the real
SDK against a scripted server on loopback), the ensemble, BigCodeReward and AutoCodeArena."""

from __future__ import annotations

import json
import struct
import zlib

import pandas as pd
import pytest
from openai_server import Reply, ScriptedOpenAIServer, judge_by_marker, last_user_text

from arena_kit import execution
from arena_kit import judges as judges_module
from arena_kit.errors import ArenaDataError, ArenaKitError
from arena_kit.judges import (
    JUDGES,
    EnsembleJudge,
    HeuristicJudge,
    LLMJudge,
    autocodearena,
    battle_inputs,
    battles_frame,
    bigcodereward,
    get_judge,
    render_battle,
)
from arena_kit.models import ModelClient
from arena_kit.ratings import RatingsWarning
from arena_kit.schema import validate

SYSTEM = {"role": "system", "content": "be helpful"}


def png(path, width=4, height=3, colour=(200, 30, 30)):
    """Write a real (tiny, solid) PNG file."""
    raw = b"".join(b"\x00" + bytes(colour) * width for _ in range(height))

    def chunk(kind, data):
        body = kind + data
        return struct.pack(">I", len(data)) + body + struct.pack(">I", zlib.crc32(body))

    header = struct.pack(">IIBBBBB", width, height, 8, 2, 0, 0, 0)
    path.write_bytes(
        b"\x89PNG\r\n\x1a\n"
        + chunk(b"IHDR", header)
        + chunk(b"IDAT", zlib.compress(raw))
        + chunk(b"IEND", b"")
    )
    return str(path)


def conversation(*turns):
    messages = [SYSTEM]
    for user, answer in turns:
        messages += [{"role": "user", "content": user}, {"role": "assistant", "content": answer}]
    return messages


@pytest.fixture
def arena(tmp_path):
    """Four human-voted battles between alpha and beta, with runs (see the comments)."""
    code = "```python\nprint('hi')\n```"
    prompts = pd.DataFrame(
        {
            "prompt_id": ["p1", "p2", "p3", "p4"],
            "instruction": ["make a page", "sum a list", "write a game", "draw a chart"],
            "category": ["web_design", "problem_solving", "game_development", "web_design"],
        }
    )
    answers = {
        # p1: alpha's answer is GOOD (the scripted LLM judge prefers it in both modes)
        ("p1", "alpha"): conversation(("make a page", f"GOOD page {code}")),
        ("p1", "beta"): conversation(("make a page", f"a page {code}")),
        # p2: same-looking code; only alpha's *run* says GOOD (visible with execution only)
        ("p2", "alpha"): conversation(("sum a list", code)),
        ("p2", "beta"): conversation(("sum a list", code)),
        # p3: two turns; alpha's GOOD is in the FIRST turn only (earlier turns must be shown)
        ("p3", "alpha"): conversation(("write a game", f"GOOD {code}"), ("faster", code)),
        ("p3", "beta"): conversation(("write a game", code), ("faster", code)),
        # p4: beta says GOOD but has no code block at all
        ("p4", "alpha"): conversation(("draw a chart", code)),
        ("p4", "beta"): conversation(("draw a chart", "GOOD idea, no code")),
    }
    shot = png(tmp_path / "p1-alpha.png")
    runs = {
        ("p1", "alpha"): {"status": "ok", "stdout": "", "screenshot": shot},
        ("p1", "beta"): {"status": "runtime_error", "stderr": "Traceback: boom"},
        ("p2", "alpha"): {"status": "ok", "stdout": "GOOD 42" + "x" * 5000},
        ("p2", "beta"): {"status": "ok", "stdout": "42"},
        ("p3", "alpha"): {"status": "timeout", "message": "wall-clock limit 10 s"},
        ("p3", "beta"): {"status": "ok", "stdout": "frame 1"},
        ("p4", "alpha"): {"status": "blank_render", "exit_code": None, "message": None},
        ("p4", "beta"): {"status": "blank_render"},
    }
    responses, executions = [], []
    for (prompt, model), messages in answers.items():
        execution_id = f"x-{prompt}-{model}"
        responses.append(
            {
                "response_id": f"r-{prompt}-{model}",
                "prompt_id": prompt,
                "model": model,
                "turn": sum(m["role"] == "user" for m in messages),
                "messages": messages,
                "execution_id": execution_id,
            }
        )
        executions.append(
            {
                "execution_id": execution_id,
                "code": "print('hi')",
                "language": "python",
                "environment": "html" if prompt in ("p1", "p4") else "python",
                "exit_code": 0,
                **runs[(prompt, model)],
            }
        )
    votes = pd.DataFrame(
        {
            "vote_id": ["v1", "v2", "v3", "v4"],
            "battle_id": ["b1", "b2", "b3", "b4"],
            "prompt_id": ["p1", "p2", "p3", "p4"],
            "category": list(prompts["category"]),
            "model_a": ["alpha"] * 4,
            "model_b": ["beta"] * 4,
            "winner": ["model_a", "model_a", "model_b", "tie"],
        }
    )
    return {
        "prompts": validate(prompts, "prompts"),
        "responses": validate(responses, "responses"),
        "executions": validate(executions, "executions"),
        "votes": validate(votes, "votes"),
    }


@pytest.fixture
def battles(arena):
    return battle_inputs(
        arena["votes"],
        arena["responses"],
        prompts=arena["prompts"],
        executions=arena["executions"],
        votes=arena["votes"],
    )


def judge_script(request):
    """The scripted server: judge requests by marker, anything else a short answer."""
    system = request["messages"][0]
    if system["role"] == "system" and system["content"].startswith("You are an impartial"):
        style = "label" if "[[A>>B]]" in system["content"] else "json"
        return judge_by_marker(request, style=style)
    return Reply(text="plain answer")


@pytest.fixture
def server():
    with ScriptedOpenAIServer(script=judge_script) as running:
        yield running


def client_for(server, tmp_path, **models):
    return ModelClient(
        {
            "base_url": server.base_url,
            "api_key_env": None,
            "cache_dir": str(tmp_path / "cache"),
            "backoff_s": 0.01,
            "concurrency": 4,
            "models": models or {"judge-1": {"vision": True}},
        }
    )


# -- battles and prompts -----------------------------------------------------------------------


def test_battle_inputs_from_votes(battles):
    assert [b.battle_id for b in battles] == ["b1", "b2", "b3", "b4"]
    third = battles[2]
    assert third.turns == 2 and len(third.messages_a) == 5
    assert third.instruction == "write a game" and third.category == "game_development"
    assert (third.execution_id_a, third.env_a) == ("x-p3-alpha", "python")
    assert third.winner == "model_b"
    assert list(battles_frame(battles)["turns"]) == [1, 1, 2, 1]


def test_battle_inputs_from_a_battles_table(arena):
    table = pd.DataFrame(
        {
            "battle_id": ["k1"],
            "prompt_id": ["p2"],
            "model_a": ["beta"],
            "model_b": ["alpha"],
            "response_a": ["r-p2-beta"],
            "response_b": ["r-p2-alpha"],
        }
    )
    (battle,) = battle_inputs(table, arena["responses"])
    assert battle.execution_id_a == "x-p2-beta" and battle.instruction == "sum a list"
    table.loc[0, "response_b"] = "r-nowhere"
    with pytest.raises(ArenaDataError, match="no response for side B"):
        battle_inputs(table, arena["responses"])


def test_render_shows_every_turn_runs_and_swaps(battles, arena):
    runs = {r["execution_id"]: r for r in arena["executions"].to_dict(orient="records")}
    prompt = render_battle(battles[2], executions=runs)
    assert "[Assistant A, turn 1]\nGOOD" in prompt.text and "[User, turn 2]\nfaster" in prompt.text
    assert "status timeout — wall-clock limit 10 s" in prompt.text
    swapped = render_battle(battles[2], executions=runs, swapped=True)
    assert "[Assistant B, turn 1]\nGOOD" in swapped.text
    long_output = render_battle(battles[1], executions=runs, output_limit=100).text
    assert "GOOD 42" + "x" * 93 in long_output and "x" * 94 not in long_output
    # Missing cells (None/NA exit code, no message) render as nothing, not as "nan"/"<NA>".
    missing = render_battle(battles[3], executions=runs).text
    assert "A's code: environment html, status blank_render\nstdout: (empty)" in missing
    assert "nan" not in missing and "<NA>" not in missing
    broken = dict(runs["x-p3-beta"], status="build_error", build_log="x" * 50 + "main.c:3: error")
    text = render_battle(battles[2], executions={**runs, "x-p3-beta": broken}).text
    assert "build log (last 1000 characters):\n" + "x" * 50 + "main.c:3: error" in text
    code_only = render_battle(battles[0])
    assert "Execution of" not in code_only.text and "not its execution" in code_only.system
    with_picture = render_battle(battles[0], executions=runs, vision=True)
    assert with_picture.images == [runs["x-p1-alpha"]["screenshot"]]
    assert "screenshot: image 1 below" in with_picture.text
    arena_style = render_battle(battles[0], style="arena")
    assert "user interface" in arena_style.system and "[[A>>B]]" in arena_style.system


# -- the heuristic judge -----------------------------------------------------------------------


def test_heuristic_with_execution(battles, arena):
    verdicts = HeuristicJudge().judge(battles, arena["executions"], "with_execution")
    table = verdicts.set_index("battle_id")
    # p1: 3 points (ran, screenshot, no timeout) vs 1 (runtime error) → strong A
    assert (table.loc["b1", "winner"], table.loc["b1", "strong"]) == ("model_a", True)
    # p2: both ran and printed → tie;  p3: A timed out (0) vs B ran (3) → strong B
    assert table.loc["b2", "winner"] == "tie"
    assert (table.loc["b3", "winner"], table.loc["b3", "label"]) == ("model_b", "B>>A")
    # p4: both blank renders (2 points each) → tie
    assert table.loc["b4", "winner"] == "tie"
    assert set(verdicts["parse_status"]) == {"rule"}
    assert "timeout" in table.loc["b3", "raw"]


def test_heuristic_code_only_and_both_sides(battles):
    verdicts = HeuristicJudge().judge(battles, None, "code_only", sides="both")
    assert len(verdicts) == 8
    p4 = verdicts[verdicts["battle_id"] == "b4"].set_index("swapped")
    assert list(p4["winner"]) == ["model_a", "model_a"]  # only alpha has a code block
    assert (p4.loc[False, "label"], p4.loc[True, "label"]) == ("A>B", "B>A")


def test_registry_and_mode_checks(battles):
    assert {"llm", "heuristic", "ensemble"} <= set(JUDGES)
    assert isinstance(get_judge("heuristic"), HeuristicJudge)
    with pytest.raises(ArenaKitError, match="unknown judge 'oracle'"):
        get_judge("oracle")
    with pytest.raises(ArenaKitError, match="needs the executions table"):
        HeuristicJudge().judge(battles, None, "with_execution")
    with pytest.raises(ArenaKitError, match="mode must be"):
        HeuristicJudge().judge(battles, None, "vibes")


# -- the LLM judge and BigCodeReward -----------------------------------------------------------


def test_llm_judge_sends_screenshots_to_vision_models(server, tmp_path, battles, arena):
    judge = LLMJudge(client_for(server, tmp_path), "judge-1")
    verdicts = judge.judge(battles[:1], arena["executions"], progress=False)
    assert verdicts.loc[0, "winner"] == "model_a" and verdicts.loc[0, "parse_status"] == "json"
    content = server.requests[0]["body"]["messages"][1]["content"]
    assert content[1]["image_url"]["url"].startswith("data:image/png;base64,")
    blind = LLMJudge(client_for(server, tmp_path, blind={}), "blind")
    blind.judge(battles[:1], arena["executions"], progress=False)
    assert isinstance(server.requests[-1]["body"]["messages"][1]["content"], str)


def test_bigcodereward_end_to_end(server, tmp_path, battles, arena):
    llm = LLMJudge(client_for(server, tmp_path), "judge-1")
    result = bigcodereward(
        battles, [llm, HeuristicJudge()], arena["votes"], arena["executions"],
        n_bootstrap=100, progress=False,
    )  # fmt: skip
    # 2 judges × 2 modes × 4 battles × 2 orders
    assert len(result.verdicts) == 32
    assert len(server.requests) == 16
    summary = result.summary().set_index(["judge", "mode"])
    # LLM with execution: b1 A ✓, b2 A ✓ (run says GOOD), b3 A ✗ (GOOD in turn 1), b4 B ✗
    assert summary.loc[("judge-1", "with_execution"), "accuracy"] == pytest.approx(2 / 4)
    # LLM code-only: b1 ✓, b2 tie ✗, b3 ✗, b4 ✗
    assert summary.loc[("judge-1", "code_only"), "accuracy"] == pytest.approx(1 / 4)
    # Heuristic with execution: b1 ✓, b2 tie ✗, b3 ✓, b4 tie ✓
    assert summary.loc[("heuristic", "with_execution"), "accuracy"] == pytest.approx(3 / 4)
    lift = result.lift.set_index(["judge", "classes", "category", "metric"])
    assert lift.loc[("judge-1", 3, "all", "accuracy"), "lift"] == pytest.approx(0.25)
    # A content-driven judge does not change its mind when the sides swap.
    assert (result.consistency["consistency"] == 1.0).all()
    assert set(result.scores["orientation"]) == {"original", "consensus"}
    assert set(result.scores["category"]) >= {"all", "web_design", "game_development"}
    assert result.agreement["n"].gt(0).all()
    # Every request went out once; a second run is served from the cache.
    again = bigcodereward(
        battles, llm, arena["votes"], arena["executions"], n_bootstrap=10, progress=False
    )
    assert len(server.requests) == 16 and again.verdicts["cached"].all()


def test_battles_without_votes_are_refused_before_judging(battles, arena):
    other = arena["votes"].assign(battle_id=lambda v: "other-" + v["battle_id"])
    with pytest.raises(ArenaKitError, match="none of the 4 battles has a vote"):
        bigcodereward(battles, HeuristicJudge(), other)
    partial = arena["votes"].iloc[:2]
    with pytest.warns(UserWarning, match="2 of 4 battles have no vote"):
        result = bigcodereward(battles, HeuristicJudge(), partial, n_bootstrap=10)
    assert result.summary()["n"].tolist() == [2]


def test_unlinked_runs_are_refused_before_any_judge_is_paid(server, tmp_path, arena):
    """Responses read back without their execution_id used to make every side "no run":
    the heuristic scored every game both_bad and nobody was told."""
    unlinked = arena["responses"].assign(execution_id=None)
    battles = battle_inputs(arena["votes"], unlinked, executions=arena["executions"])
    llm = LLMJudge(client_for(server, tmp_path), "judge-1")
    with pytest.raises(
        ArenaDataError, match="none of the 5 battle sides with code links to a run"
    ) as caught:
        bigcodereward(battles, [llm, HeuristicJudge()], arena["votes"], arena["executions"])
    assert "execute_responses" in str(caught.value)
    assert server.requests == [], "nothing may be judged (and paid for) before the check"
    with pytest.raises(ArenaDataError, match="heuristic judge, with execution"):
        HeuristicJudge().judge(battles, arena["executions"], "with_execution")
    # Code only needs no runs: still fine.
    assert len(HeuristicJudge().judge(battles, None, "code_only")) == 4


def test_few_linked_runs_warn_once_and_are_still_scored(arena):
    responses = arena["responses"].copy()
    responses.loc[responses["prompt_id"] != "p1", "execution_id"] = (
        None  # 2 of 8 sides linked (7 with code)
    )
    battles = battle_inputs(arena["votes"], responses, executions=arena["executions"])
    with pytest.warns(
        execution.UnlinkedRunsWarning, match="only 2 of 7 battle sides with code"
    ) as caught:
        result = bigcodereward(
            battles, HeuristicJudge(), arena["votes"], arena["executions"], n_bootstrap=10
        )
    assert len([w for w in caught if w.category is execution.UnlinkedRunsWarning]) == 1
    assert set(result.summary()["mode"]) == {"code_only", "with_execution"}


def test_malformed_verdicts_and_429s_are_counted(tmp_path, battles, arena):
    def script(request):
        text = last_user_text(request)
        if "draw a chart" in text:
            return Reply(text="I'd rather not say.")  # b4: unreadable
        if "write a game" in text:
            return Reply(text="{'winner': broken json")  # b3: unreadable too
        return judge_by_marker(request)

    trouble = [Reply(status=429, retry_after="0"), Reply(text="too late", delay_s=1.0)]
    with ScriptedOpenAIServer(script=script, queue=trouble) as srv:
        client = ModelClient(client_for(srv, tmp_path).config, timeout_s=0.3)
        judge = LLMJudge(client, "judge-1")
        result = bigcodereward(
            battles, judge, arena["votes"], arena["executions"], n_bootstrap=20, progress=False
        )
        assert len(srv.requests) == 18  # 16 games + the 429 and the timeout, both retried
    assert client.usage()["retries"].sum() == 2
    counts = result.parse_counts.set_index(["mode", "parse_status"])["n"]
    assert counts[("with_execution", "unparseable")] == 4  # 2 battles × 2 orders
    assert counts[("with_execution", "json")] == 4
    overall = result.summary().set_index("mode")
    assert overall.loc["with_execution", "n_unparsed"] == 2
    assert overall.loc["with_execution", "accuracy"] == pytest.approx(2 / 4)
    assert result.consistency.set_index("mode").loc["with_execution", "n_unreadable_pairs"] == 2


def test_failed_requests_become_error_verdicts(tmp_path, battles, arena):
    with ScriptedOpenAIServer(script=lambda request: Reply(status=400)) as srv:
        judge = LLMJudge(client_for(srv, tmp_path), "judge-1")
        verdicts = judge.judge(battles, arena["executions"], progress=False)
    assert set(verdicts["parse_status"]) == {"error"} and verdicts["winner"].isna().all()
    assert verdicts["raw"].str.contains("HTTP 400").all()


def test_position_bias_is_measured(tmp_path, battles, arena):
    always_first = ScriptedOpenAIServer(
        script=lambda request: Reply(text=json.dumps({"winner": "A"}))
    )
    with always_first as srv:
        judge = LLMJudge(client_for(srv, tmp_path), "judge-1", name="first-picker")
        result = bigcodereward(battles, judge, arena["votes"], n_bootstrap=10, progress=False)
    row = result.consistency.iloc[0]
    assert (row["judge"], row["mode"]) == ("first-picker", "code_only")
    assert row["consistency"] == 0.0 and row["first_shown_wins"] == 1.0
    consensus = result.scores[
        (result.scores["orientation"] == "consensus") & (result.scores["category"] == "all")
    ]
    assert (consensus[consensus["classes"] == 3]["accuracy"] == 0.25).all()  # all ties; b4 ✓


def test_ensemble_majority_and_mean(server, tmp_path, battles, arena):
    client = client_for(server, tmp_path, **{"judge-1": {}, "judge-2": {}})
    members = [
        LLMJudge(client, "judge-1"),
        LLMJudge(client, "judge-2"),
        HeuristicJudge(),
    ]
    majority = EnsembleJudge(members).judge(battles, arena["executions"], progress=False)
    table = majority.set_index("battle_id")
    # b3: both LLMs say A (GOOD in turn 1), the heuristic says B → A
    assert table.loc["b3", "winner"] == "model_a"
    # b4: LLMs say B, heuristic tie → B
    assert table.loc["b4", "winner"] == "model_b"
    assert "heuristic: tie" in table.loc["b4", "raw"]
    mean = get_judge("ensemble", judges=members, method="mean", name="mean")
    means = mean.judge(battles, arena["executions"], progress=False).set_index("battle_id")
    # b3 scores: JSON "A" = +1 from each LLM, the heuristic's strong B = −2 → mean 0 → tie
    assert means.loc["b3", "winner"] == "tie"
    assert mean.member_verdicts is not None and len(mean.member_verdicts) == 12
    agreeing = mean.agreement().set_index(["judge_1", "judge_2"])
    # The two scripted LLM judges read the same prompts the same way.
    assert agreeing.loc[("judge-1", "judge-2"), "agreement"] == 1.0
    assert agreeing.loc[("all", "3 judges"), "n"] == 4
    with pytest.raises(ArenaKitError, match="at least two"):
        EnsembleJudge([HeuristicJudge()])
    with pytest.raises(ArenaKitError, match="distinct names"):
        EnsembleJudge([HeuristicJudge(), HeuristicJudge()])


# -- AutoCodeArena -----------------------------------------------------------------------------


def arena_script(request):
    system = request["messages"][0]["content"]
    if system.startswith("You are an impartial"):
        return judge_by_marker(request, style="label")
    text = last_user_text(request)
    model = request["model"]
    if model == "good":
        return Reply(text=f"GOOD ```html\n<p>{text}</p>\n```")
    if model == "mixed" and text.endswith("!"):
        return Reply(text=f"GOOD ```html\n<p>{text}</p>\n```")
    return Reply(text=f"```html\n<p>{text}</p>\n```")


def test_autocodearena_end_to_end(tmp_path):
    prompts = pd.DataFrame(
        {
            "prompt_id": ["q1", "q2", "q3", "q4"],
            "instruction": ["a clock!", "a todo list!", "a maze", "a chart"],
            "category": ["web_design", "web_design", "game_development", "scientific_computing"],
        }
    )
    executed = []

    def execute(responses):
        executed.append(len(responses))
        return pd.DataFrame(
            {
                "execution_id": ["e-" + r for r in responses["response_id"]],
                "response_id": responses["response_id"],
                "code": "<p></p>",
                "environment": "html",
                "status": "ok",
            }
        )

    with ScriptedOpenAIServer(script=arena_script) as srv:
        client = client_for(srv, tmp_path, **{"good": {}, "mixed": {}, "base": {}, "judge": {}})
        judge = LLMJudge(client, "judge", style="arena")
        result = autocodearena(
            ["good", "mixed"], "base", judge, prompts=prompts, client=client,
            execute=execute, n_bootstrap=200, progress=False,
        )  # fmt: skip
        generation = [r for r in srv.bodies() if r["model"] != "judge"]
    assert len(generation) == 12 and executed == [12]
    assert all(r["messages"][0]["role"] == "system" for r in generation)
    assert len(result.games) == 16 and result.executions is not None
    board = result.leaderboard.set_index("model")
    # good: every game won; shown first → [[A>>B]] (weight 3), shown second → [[B>A]] (1)
    assert board.loc["good", "win_rate"] == 1.0
    # mixed: q1, q2 won (weights 3 + 1 each), q3, q4 tied (1 + 1 each)
    # (2·4·1 + 2·2·½) / (2·4 + 2·2) = 10/12
    assert board.loc["mixed", "win_rate"] == pytest.approx(10 / 12)
    assert board.loc["base", "win_rate"] == 0.5
    assert list(board.index) == ["good", "mixed", "base"]
    low, high = board.loc["mixed", ["win_rate_low", "win_rate_high"]]
    assert 0.5 <= low <= 10 / 12 <= high <= 1.0
    by_category = result.by_category.set_index(["candidate", "category"])
    assert by_category.loc[("mixed", "web_design"), "win_rate"] == 1.0
    assert by_category.loc[("mixed", "game_development"), "win_rate"] == 0.5
    assert set(result.by_environment["environment"]) == {"html"}
    # "good" never lost: the ratings module warns and adds its small prior.
    with pytest.warns(RatingsWarning, match="never lost"):
        ratings = result.bradley_terry(n_bootstrap=20).leaderboard.set_index("model")
    assert ratings.loc["base", "rating"] == pytest.approx(1000.0)
    assert ratings.loc["good", "rating"] > ratings.loc["mixed", "rating"] > 1000


def test_autocodearena_code_only_with_given_responses(tmp_path, arena):
    result = autocodearena(
        ["alpha"], "beta", HeuristicJudge(), prompts=arena["prompts"],
        responses=arena["responses"], n_bootstrap=50, progress=False,
    )  # fmt: skip
    assert set(result.verdicts["mode"]) == {"code_only"}
    # Code-only heuristic: p4 alpha has code, beta none → win; others tie → (2·1 + 6·½)/8
    assert result.leaderboard.set_index("model").loc["alpha", "win_rate"] == pytest.approx(5 / 8)
    with pytest.raises(ArenaKitError, match="no answers to judge"):
        autocodearena(["alpha"], "beta", HeuristicJudge(), prompts=arena["prompts"])


def test_autocodearena_on_your_answers_takes_their_prompts_and_a_baseline(arena):
    """Without prompts, the prompts are those the answers answer (not the bundled 600)."""
    assert judges_module.pick_baseline(arena["responses"]) == "alpha"  # a tie: first by name
    fewer = arena["responses"][arena["responses"]["response_id"] != "r-p4-beta"]
    assert judges_module.pick_baseline(fewer) == "alpha"
    assert judges_module.pick_baseline(fewer[fewer["model"] != "alpha"]) == "beta"
    prompts = judges_module.answered_prompts(arena["responses"])
    assert prompts.set_index("prompt_id").loc["p3", "instruction"] == "write a game"
    result = autocodearena(
        ["beta"], "alpha", HeuristicJudge(), responses=arena["responses"],
        executions=arena["executions"], n_bootstrap=20, progress=False,
    )  # fmt: skip
    assert set(result.games["prompt_id"]) == {"p1", "p2", "p3", "p4"}
    assert set(result.verdicts["mode"]) == {"with_execution"}


@pytest.mark.slow
def test_autocodearena_with_the_real_sandbox(tmp_path):
    """Answers run in the sandbox (bubblewrap); the judges see what really happened."""
    programs = {
        "solid": 'print("GO" + "OD", sum(range(10)))',  # stdout says GOOD, the code does not
        "crashy": 'raise RuntimeError("boom")',
        "base": "print(45)",
    }

    def script(request):
        if request["messages"][0]["content"].startswith("You are an impartial"):
            return judge_by_marker(request, style="label")
        return Reply(text=f"```python\n{programs[request['model']]}\n```")

    prompts = pd.DataFrame(
        {"prompt_id": ["s1", "s2"], "instruction": ["sum 0..9", "add up 0 to 9"],
         "category": ["problem_solving", "problem_solving"]}
    )  # fmt: skip
    with ScriptedOpenAIServer(script=script) as srv:
        client = client_for(srv, tmp_path, solid={}, crashy={}, base={}, judge={})
        execute = judges_module.sandbox_executor(progress=False)
        heuristic = autocodearena(
            ["solid", "crashy"], "base", HeuristicJudge(), prompts=prompts, client=client,
            execute=execute, n_bootstrap=50, progress=False,
        )  # fmt: skip
        llm = autocodearena(
            ["solid", "crashy"], "base", LLMJudge(client, "judge", style="arena"),
            prompts=prompts, responses=heuristic.responses, executions=heuristic.executions,
            n_bootstrap=50, progress=False,
        )  # fmt: skip
    runs = heuristic.executions.set_index("environment")
    assert set(heuristic.executions["status"]) == {"ok", "runtime_error"}
    assert runs.loc["python", "stdout"].str.contains("GOOD 45").any()
    # 6 answers, but the two prompts' answers of one model are the same code: 3 runs.
    assert len(heuristic.executions) == 3
    board = heuristic.leaderboard.set_index("model")["win_rate"]
    assert board["solid"] == 0.5  # both ran and printed: ties
    assert board["crashy"] == 0.0  # a crash loses every game
    # The scripted LLM judge sees "GOOD" only in solid's real stdout.
    assert llm.leaderboard.set_index("model").loc["solid", "win_rate"] == 1.0
    assert set(llm.verdicts["mode"]) == {"with_execution"}


def test_bigcodereward_on_imported_bigcodearena_rows(tmp_path):
    """The importer's tables (the public data's shape) go straight into BigCodeReward."""
    from pathlib import Path

    from arena_kit.datasets import read_bigcodearena

    fixture = Path(__file__).parent / "fixtures" / "bigcodearena" / "votes.jsonl"
    imported = read_bigcodearena(fixture, screenshot_dir=tmp_path / "shots")
    battles = battle_inputs(
        imported.votes, imported.responses, prompts=imported.prompts,
        executions=imported.executions,
    )  # fmt: skip
    assert len(battles) == len(imported.votes)
    assert max(b.turns for b in battles) >= 2  # a multi-turn session is kept whole
    result = bigcodereward(
        battles, HeuristicJudge(), imported.votes, imported.executions, n_bootstrap=20,
        progress=False,
    )  # fmt: skip
    assert set(result.verdicts["mode"]) == {"code_only", "with_execution"}
    summary = result.summary()
    assert (summary["n"] == len(imported.votes)).all()
    assert (summary["n_unparsed"] == 0).all()
    # The heuristic is deterministic: swapping sides never changes its verdict.
    assert (result.consistency["consistency"] == 1.0).all()
