"""The study's metrics on small matrices worked out by hand."""

import pytest

from gentax.study.metrics import cells, ood_rank_scores, pearson, spearman, tie_ranks

# PAPER.md's V2 start and two of its RL rows (success %).
BEFORE = {"alfworld": 21.9, "webshop": 38.3, "sokoban": 14.1, "sciworld": 18.0}
AFTER = {
    "alfworld": {"alfworld": 82.5, "webshop": 30.5, "sokoban": 9.8, "sciworld": 10.0},
    "sokoban": {"alfworld": 20.0, "webshop": 34.0, "sokoban": 49.8, "sciworld": 13.0},
}


def test_gain_change_and_tax():
    by_key = {(c.train, c.eval): c for c in cells(BEFORE, AFTER)}
    assert by_key["alfworld", "alfworld"].in_domain
    assert by_key["alfworld", "alfworld"].change == pytest.approx(60.6)
    assert by_key["sokoban", "sciworld"].relative_change == pytest.approx((13.0 - 18.0) / 18.0)


def test_zero_baseline_has_no_relative_change_but_keeps_the_absolute_one():
    (cell,) = cells({"webshop": 0.0}, {"sokoban": {"webshop": 3.0}})
    assert cell.relative_change is None and cell.change == 3.0


def test_ties_under_half_a_point_share_their_rank():
    assert tie_ranks({"a": 30.0, "b": 29.6, "c": 20.0}) == {"a": 1.5, "b": 1.5, "c": 3.0}
    assert tie_ranks({"a": 30.0, "b": 29.0, "c": 20.0}) == {"a": 1.0, "b": 2.0, "c": 3.0}


def test_ood_rank_score_sums_ranks_over_ood_domains():
    scores = ood_rank_scores(AFTER)
    # webshop: sokoban 34.0 beats alfworld 30.5; sciworld: sokoban 13.0 beats 10.0;
    # alfworld is OOD only for sokoban (rank 1); sokoban only for alfworld (rank 1).
    assert scores == {"alfworld": 2 + 2 + 1, "sokoban": 1 + 1 + 1}


def test_correlations():
    assert pearson([1, 2, 3], [2, 4, 6]) == pytest.approx(1.0)
    assert spearman([1, 2, 3, 4], [10, 9, 8, 1]) == pytest.approx(-1.0)
    assert pearson([1, 2], [1, 2]) is None and pearson([1, 1, 1], [1, 2, 3]) is None
