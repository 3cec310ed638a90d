"""The study's numbers (PAPER.md), from success rates in percent.

- in-domain gain: after - before on the training domain;
- OOD change: after - before on every other domain (absolute, in points);
- generalization tax: (after - before) / before, the relative OOD change; undefined (None)
  when the starting model scores 0 there: the absolute change is shown instead, never a
  division by zero;
- OOD rank score of a training domain: the sum of its ranks over the OOD evaluation domains
  (rank 1 = best after RL among the training domains for which that domain is OOD); success
  rates closer than 0.5 points are ties and share the average of their ranks.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

TIE_POINTS = 0.5


@dataclass
class Cell:
    train: str
    eval: str
    before: float  # success (%) of the starting model on `eval`
    after: float  # success (%) after RL on `train`
    in_domain: bool

    @property
    def change(self) -> float:
        return self.after - self.before

    @property
    def relative_change(self) -> float | None:
        """The generalization tax when OOD (None when the baseline is 0)."""
        return None if self.before == 0 else (self.after - self.before) / self.before


def cells(before: dict[str, float], after: dict[str, dict[str, float]]) -> list[Cell]:
    """before[eval] and after[train][eval] -> one Cell per (train, eval)."""
    return [Cell(t, e, before[e], after[t][e], t == e) for t in after for e in after[t]]


def tie_ranks(scores: dict[str, float], tie: float = TIE_POINTS) -> dict[str, float]:
    """Rank 1 = highest. Values in a chain of gaps under `tie` share their average rank."""
    order = sorted(scores, key=lambda k: -scores[k])
    ranks: dict[str, float] = {}
    i = 0
    while i < len(order):
        j = i
        while j + 1 < len(order) and scores[order[j]] - scores[order[j + 1]] < tie:
            j += 1
        for k in order[i:j + 1]:
            ranks[k] = (i + 1 + j + 1) / 2
        i = j + 1
    return ranks


def ood_rank_scores(after: dict[str, dict[str, float]], tie: float = TIE_POINTS) -> dict[str, float]:
    """Sum over evaluation domains of each training domain's rank among those for which the
    evaluation domain is out-of-domain. Lower is better."""
    totals = {t: 0.0 for t in after}
    evals = sorted({e for row in after.values() for e in row})
    for e in evals:
        competitors = {t: after[t][e] for t in after if t != e and e in after[t]}
        for t, r in tie_ranks(competitors, tie).items():
            totals[t] += r
    return totals


def pearson(xs: list[float], ys: list[float]) -> float | None:
    """Pearson correlation; None with fewer than 3 points or no spread."""
    n = len(xs)
    if n < 3:
        return None
    mx, my = sum(xs) / n, sum(ys) / n
    sxy = sum((x - mx) * (y - my) for x, y in zip(xs, ys, strict=True))
    sxx = sum((x - mx) ** 2 for x in xs)
    syy = sum((y - my) ** 2 for y in ys)
    if sxx == 0 or syy == 0:
        return None
    return sxy / math.sqrt(sxx * syy)


def spearman(xs: list[float], ys: list[float]) -> float | None:
    """Spearman rank correlation (average ranks for exact ties)."""
    def ranks(v: list[float]) -> list[float]:
        r = tie_ranks({str(i): -x for i, x in enumerate(v)}, tie=1e-12)  # ascending ranks
        return [r[str(i)] for i in range(len(v))]

    return pearson(ranks(xs), ranks(ys)) if len(xs) >= 3 else None
