"""The derived files in data/ are exactly what `python -m arena_kit.bundle` makes."""

from __future__ import annotations

import json

from arena_kit import bundle, datasets


def test_committed_derived_files_match_a_rebuild(tmp_path):
    for path in bundle.build(tmp_path):
        committed = datasets.DATA_DIR / path.relative_to(tmp_path)
        assert committed.read_bytes() == path.read_bytes(), (
            f"{committed} is stale: run `.venv/bin/python -m arena_kit.bundle`"
        )


def test_battles_pair_real_answers_with_runnable_code():
    battles = datasets.bundled_battles()
    _, responses = datasets.bundled_responses()
    by_id = responses.set_index("response_id")
    assert len(battles) > 300 and battles["battle_id"].is_unique
    assert (battles["model_a"] != battles["model_b"]).all()
    for row in battles.head(40).itertuples():
        assert by_id.loc[row.response_a, "model"] == row.model_a
        assert by_id.loc[row.response_b, "prompt_id"] == row.prompt_id
        assert "```" in by_id.loc[row.response_a, "messages"][-1]["content"]
    assert battles["cluster"].notna().all()
    assert battles["category"].notna().all()  # predicted by the built-in classifier


def test_battle_votes_are_simulated_one_per_battle():
    votes = datasets.bundled_battle_votes()
    battles = datasets.bundled_battles()
    assert set(votes["source"]) == {"simulated"}
    assert sorted(votes["battle_id"]) == sorted(battles["battle_id"])


def test_simulated_truth_file_is_labelled():
    truth = json.loads((datasets.DATA_DIR / "simulated" / "simulated-truth.json").read_text())
    assert "SIMULATED" in truth["note"]
    assert len(truth["true_ratings"]) == bundle.SIMULATION["n_models"]


def test_provenance_and_licence_notices_are_kept():
    for folder in ("autocodearena-v0", "arena-hard-v0.1"):
        text = (datasets.DATA_DIR / folder / "PROVENANCE.md").read_text()
        assert "Apache-2.0" in text
