"""Online Elo: the sequential update of the early Chatbot Arena, kept as a reference method.

It is **order-dependent**: the same votes in another order give other ratings (reversing the
order of a real vote log moved ratings by up to 51 points), and recent votes weigh more than
old ones. Use :func:`~arena_kit.ratings.fit_bradley_terry` for leaderboards; use this to show
the difference, or to follow ratings over time.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Literal

from ._counts import BOTH_BAD, LOSS, TIE, WIN

if TYPE_CHECKING:
    import pandas as pd

__all__ = ["online_elo"]


def online_elo(
    votes: pd.DataFrame,
    *,
    k: float = 4.0,
    initial: float = 1000.0,
    scale: float = 400.0,
    base: float = 10.0,
    both_bad: Literal["tie", "drop"] = "tie",
    order: str | None = None,
) -> pd.Series:
    """Ratings after applying the Elo update to each vote in turn.

    For a vote between ``a`` and ``b`` with score ``s`` (1 win, 0 loss, ½ tie):
    ``E = 1 / (1 + base ** ((R_b - R_a) / scale))``, ``R_a += k (s - E)``,
    ``R_b -= k (s - E)``.

    Parameters
    ----------
    votes
        A votes table (``model_a``, ``model_b``, ``winner``), processed in row order.
    k
        Step size (FastChat used 4).
    initial
        Every model's starting rating.
    scale, base
        The Elo scale.
    both_bad
        Count both-bad votes as ties (``"tie"``) or skip them (``"drop"``).
    order
        A column to sort by first (e.g. ``"tstamp"``, stable sort); ``None`` keeps row order.

    Returns
    -------
    Series
        Model → rating, best first.
    """
    import numpy as np
    import pandas as pd

    from ._counts import count_votes

    if order is not None:
        votes = votes.sort_values(order, kind="stable")
    # count_votes checks the three columns (errors name the row); the sequence itself is
    # re-derived below because order matters here.
    models = count_votes(votes).models
    index = {m: i for i, m in enumerate(models)}
    a = votes["model_a"].map(index).to_numpy(dtype=np.int64)
    b = votes["model_b"].map(index).to_numpy(dtype=np.int64)
    from ..schema import WINNERS, normalize_winner

    codes = votes["winner"].map(lambda w: WINNERS.index(normalize_winner(w))).to_numpy()
    score_of = {WIN: 1.0, LOSS: 0.0, TIE: 0.5, BOTH_BAD: 0.5}
    scores = np.array([score_of[int(c)] for c in range(4)])[codes]
    keep = codes != BOTH_BAD if both_bad == "drop" else np.ones(len(codes), dtype=bool)
    ratings = [float(initial)] * len(models)
    for i, j, s in zip(a[keep].tolist(), b[keep].tolist(), scores[keep].tolist(), strict=True):
        expected = 1.0 / (1.0 + base ** ((ratings[j] - ratings[i]) / scale))
        delta = k * (s - expected)
        ratings[i] += delta
        ratings[j] -= delta
    series = pd.Series(ratings, index=pd.Index(models, name="model"), name="online_elo")
    return series.sort_values(ascending=False)
