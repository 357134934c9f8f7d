"""arena-hard-auto judgment files scored by the AutoCodeArena code (issue 16, item 6), and
missing columns as ArenaDataError, not KeyError. Fixtures: tests/fixtures/arenas/arena_hard/."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from arena_kit.errors import ArenaDataError
from arena_kit.judges import (
    VERDICT_COLUMNS,
    games_table,
    read_judgments,
    score_judgments,
    win_rates,
)

JUDGED = Path(__file__).parent / "fixtures" / "arenas" / "arena_hard" / "model_judgment"
FOLDER = JUDGED / "gpt-4-1106-preview"


def arena_hard_battles(folder: Path, baseline: str, weight: int = 3) -> pd.DataFrame:
    """arena-hard-auto's own reading (show_result.py), written out independently: game 1 shows
    the baseline as A, game 2 swaps; a strong verdict is repeated ``weight`` times."""
    rows = []
    for path in sorted(folder.glob("*.jsonl")):
        for line in path.read_text().splitlines():
            record = json.loads(line)
            for number, game in enumerate(record["games"]):
                score = game["score"]
                if score is None:
                    continue
                first, second = (baseline, record["model"]) if number == 0 else (
                    record["model"], baseline
                )  # fmt: skip
                winner = {"A": first, "B": second}.get(score[0]) if score != "A=B" else "tie"
                repeat = weight if ">>" in score else 1
                rows += [{"question_id": record["question_id"], "candidate": record["model"],
                          "winner": winner}] * repeat  # fmt: skip
    return pd.DataFrame(rows)


def test_judgments_become_verdicts_from_the_candidates_side() -> None:
    verdicts = read_judgments(FOLDER)
    assert list(verdicts.columns) == list(VERDICT_COLUMNS)
    assert len(verdicts) == 12 and set(verdicts["model_b"]) == {"gpt-4-0314"}
    row = verdicts.set_index(["battle_id", "swapped"])
    # model-x won q1 in both orders, strongly in q2; model-y's q2 game 2 is unparsed.
    assert row.loc[("q1-model-x", True), "winner"] == "model_a"
    assert row.loc[("q1-model-x", False), "winner"] == "model_a"
    assert bool(row.loc[("q2-model-x", True), "strong"])
    assert row.loc[("q2-model-y", False), "parse_status"] == "unparseable"
    assert pd.isna(row.loc[("q2-model-y", False), "winner"])
    assert set(verdicts["judge"]) == {"gpt-4-1106-preview"} and set(verdicts["mode"]) == {
        "code_only"
    }


def test_scores_match_arena_hard_autos_own_reading() -> None:
    result = score_judgments(FOLDER, n_bootstrap=200, seed=1)
    board = result.leaderboard.set_index("model")
    reference = arena_hard_battles(FOLDER, "gpt-4-0314")
    for model in ("model-x", "model-y"):
        mine = reference[reference["candidate"] == model]
        expected = ((mine["winner"] == model) + 0.5 * (mine["winner"] == "tie")).mean()
        assert board.loc[model, "win_rate"] == pytest.approx(expected)
    assert board.loc["model-x", "win_rate"] == pytest.approx(0.9)  # (1+1+3+3+½+½) / 10
    assert board.loc["model-y", "win_rate"] == pytest.approx(1 / 7)  # one win in weight 7
    assert board.loc["model-y", "n_unparsed"] == 1
    assert board.loc["model-x", "win_rate_low"] <= 0.9 <= board.loc["model-x", "win_rate_high"]
    bt = result.bradley_terry(n_bootstrap=0).leaderboard.set_index("model")
    assert bt.loc["gpt-4-0314", "rating"] == 1000.0
    assert bt.loc["model-x", "rating"] > 1000.0 > bt.loc["model-y", "rating"]


def test_a_file_list_and_a_named_baseline(tmp_path: Path) -> None:
    files = sorted(FOLDER.glob("*.jsonl"))
    verdicts = read_judgments(files, baseline="my-baseline", judge="judge-z")
    assert set(verdicts["model_b"]) == {"my-baseline"} and set(verdicts["judge"]) == {"judge-z"}
    with pytest.raises(ArenaDataError, match="no .jsonl judgment files"):
        read_judgments(tmp_path)


def test_bad_judgment_lines_name_the_file_and_line(tmp_path: Path) -> None:
    good = (FOLDER / "model-x.jsonl").read_text().splitlines()[0]
    bad_score = json.loads(good)
    bad_score["games"][1]["score"] = "A>>>B"
    path = tmp_path / "model-z.jsonl"
    path.write_text(good + "\n" + json.dumps(bad_score) + "\n")
    with pytest.raises(ArenaDataError, match=r"model-z.jsonl: line 2: column 'score': game 2"):
        read_judgments(path)
    path.write_text(json.dumps({"model": "m", "games": []}) + "\n")
    with pytest.raises(ArenaDataError, match=r"line 1: .*'question_id'"):
        read_judgments(path)


def test_missing_columns_in_the_judges_scoring_are_data_errors_not_key_errors() -> None:
    verdicts = read_judgments(FOLDER)
    with pytest.raises(ArenaDataError, match=r"verdicts table lacks column\(s\) 'strong'"):
        games_table(verdicts.drop(columns=["strong"]))
    games = games_table(verdicts)
    with pytest.raises(ArenaDataError, match=r"games table lacks column\(s\) 'weight'"):
        win_rates(games.drop(columns=["weight"]))
    with pytest.raises(ArenaDataError, match=r"lacks column\(s\) 'environment'"):
        win_rates(games.drop(columns=["environment"]), "environment")
    # Verdicts without category or environment still score (both optional).
    trimmed = games_table(verdicts.drop(columns=["category", "env_a"]))
    assert np.isclose(win_rates(trimmed, n_bootstrap=0)["win_rate"].max(), 0.9)


def test_judge_scores_resample_battles_not_votes() -> None:
    # Each battle voted 4 times, all votes equal to one verdict: 40 battles' worth of evidence,
    # not 160 votes'. Resampling battles gives intervals about twice as wide (√4).
    from arena_kit.judges.metrics import bootstrap_scores, score_judge

    rng = np.random.default_rng(0)
    labels = np.array(["model_a", "model_b", "tie"])
    human = labels[rng.integers(0, 3, 40)]
    judged = np.where(rng.random(40) < 0.7, human, labels[rng.integers(0, 3, 40)])
    truth, pred = list(np.repeat(human, 4)), list(np.repeat(judged, 4))
    battles = list(np.repeat([f"b{k}" for k in range(40)], 4))
    rows = bootstrap_scores(truth, pred, n_bootstrap=2000)
    grouped = bootstrap_scores(truth, pred, n_bootstrap=2000, groups=battles)
    width = {m: (grouped[m][1] - grouped[m][0]) / (rows[m][1] - rows[m][0]) for m in rows}
    assert 1.6 < width["accuracy"] < 2.5, width
    votes = pd.DataFrame({"battle_id": battles, "winner": truth})
    verdicts = pd.DataFrame(
        {"battle_id": [f"b{k}" for k in range(40)], "judge": "j", "mode": "code_only",
         "swapped": False, "winner": judged}
    )  # fmt: skip
    scored = score_judge(verdicts, votes, classes=(3,), by_category=False, n_bootstrap=2000)
    low, high = scored.loc[0, "accuracy_low"], scored.loc[0, "accuracy_high"]
    assert abs((high - low) - (grouped["accuracy"][1] - grouped["accuracy"][0])) < 0.02
