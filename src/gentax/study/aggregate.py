"""From validated results.json to the numbers the report shows (success in percent).

Runs that differ only in their seed form one variant group; a group's success on an evaluation
domain is the mean over its seeds of each run's success (each run's success is already the
mean over its last K checkpoints). Each group also keeps every run's success and episode count
(`Measured`), from which intervals.py computes the intervals. The study metrics themselves
(gain, tax, rank scores, OOD change, correlations) come from metrics.py.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from gentax.study.intervals import Interval, Measured, bootstrap, success_interval
from gentax.study.metrics import Cell, cells, ood_change, ood_rank_scores, relative_change

FACTORS = ("augment", "think", "sft", "gigpo")
# The variant the main matrix uses when several cover equally many training domains: the
# paper's standard recipe (thinking on, no augmentation, no SFT warm-up, trajectory-level GRPO).
STANDARD = {"augment": False, "think": True, "sft": False, "gigpo": False}


def pct(fraction: float) -> float:
    return fraction * 100.0


def mean(xs: list[float]) -> float:
    return sum(xs) / len(xs)


@dataclass(frozen=True, order=True)
class Variant:
    augment: bool
    think: bool
    sft: bool
    gigpo: bool = False  # the run's advantage: GiGPO (True) or trajectory-level GRPO

    @property
    def label(self) -> str:
        return " / ".join([
            "aug" if self.augment else "no aug",
            "think" if self.think else "no think",
            "SFT" if self.sft else "no SFT",
        ] + (["GiGPO"] if self.gigpo else []))  # GRPO labels read as before GiGPO existed

    def with_factor(self, factor: str, value: bool) -> Variant:
        return Variant(**{**self.__dict__, factor: value})


def variant_of(run: dict) -> Variant:
    v = run["variant"]  # results written before GiGPO existed have no "advantage": GRPO
    return Variant(v["augment"], v["think"], v["sft"], v.get("advantage", "grpo") == "gigpo")


@dataclass
class Group:
    """All evaluated runs of one variant, and their seed-mean success per (train, eval)."""

    variant: Variant
    runs: list[dict]
    after: dict[str, dict[str, float]] = field(default_factory=dict)  # train -> eval -> %
    seeds: dict[str, int] = field(default_factory=dict)  # train -> runs averaged
    measured: dict[str, dict[str, list[Measured]]] = field(default_factory=dict)  # train -> eval -> runs


def measured(summary: dict) -> Measured:
    return Measured(summary["success"], summary["episodes"])


def baseline_pct(results: dict) -> dict[str, float]:
    return {d: pct(s["success"]) for d, s in results["baseline"]["eval"].items()}


def baseline_measured(results: dict) -> dict[str, list[Measured]]:
    """eval -> [the starting model's evaluation] (a list like a group's seeds)."""
    return {d: [measured(s)] for d, s in results["baseline"]["eval"].items()}


def groups(results: dict) -> list[Group]:
    """One Group per variant among the runs that have evaluations, standard-first ordering."""
    by_variant: dict[Variant, list[dict]] = {}
    for run in results["runs"]:
        if run["eval"]:
            by_variant.setdefault(variant_of(run), []).append(run)
    out = []
    for variant, runs in by_variant.items():
        g = Group(variant, runs)
        for train in sorted({r["train_domain"] for r in runs}, key=results["domains"].index):
            mine = [r for r in runs if r["train_domain"] == train]
            g.seeds[train] = len(mine)
            g.measured[train] = {
                e: [measured(r["eval"][e]) for r in mine if e in r["eval"]]
                for e in results["domains"] if any(e in r["eval"] for r in mine)
            }
            g.after[train] = {e: mean([pct(m.success) for m in ms]) for e, ms in g.measured[train].items()}
        out.append(g)
    out.sort(key=lambda g: (-len(g.after), sum(getattr(g.variant, f) != v for f, v in STANDARD.items()),
                            g.variant))
    return out


def group_cells(group: Group, before: dict[str, float]) -> list[Cell]:
    """metrics.cells over the evaluation domains that have a baseline."""
    after = {t: {e: v for e, v in row.items() if e in before} for t, row in group.after.items()}
    return cells(before, after)


def rank_scores(group: Group) -> dict[str, float]:
    return ood_rank_scores(group.after)


@dataclass
class Retention:
    """How much OOD skill a training domain kept (over OOD domains with a non-zero baseline)."""

    train: str
    mean_ood_change: float | None  # points, over every OOD domain with a baseline
    retention: float | None  # 100 * mean(after / before); None if every OOD baseline is 0
    mean_tax: float | None  # mean relative change (%) = retention - 100
    ood_domains: int  # OOD domains with a non-zero baseline (those in the retention)


def retention(group: Group, before: dict[str, float]) -> dict[str, Retention]:
    out = {}
    for train in group.after:
        ood = [c for c in group_cells(group, before) if c.train == train and not c.in_domain]
        rel = [c.relative_change for c in ood if c.relative_change is not None]
        out[train] = Retention(
            train=train,
            mean_ood_change=mean([c.change for c in ood]) if ood else None,
            retention=100.0 + mean(rel) if rel else None,
            mean_tax=mean(rel) if rel else None,
            ood_domains=len(rel),
        )
    return out


@dataclass
class Comparison:
    """One factor switched off and on, everything else (train domain, other factors) equal."""

    factor: str
    train: str
    context: Variant  # the variant with the factor off
    ood_off: float  # mean OOD success (%) with the factor off
    ood_on: float
    in_off: float | None  # in-domain success (%), None if not evaluated
    in_on: float | None
    ood_off_ci: Interval | None = None  # bootstrap intervals of the two means and their difference
    ood_on_ci: Interval | None = None
    difference_ci: Interval | None = None
    in_off_ci: Interval | None = None  # the in-domain success's interval (Wilson or over seeds)
    in_on_ci: Interval | None = None


def mean_ood(group: Group, train: str) -> float | None:
    vals = [v for e, v in group.after[train].items() if e != train]
    return mean(vals) if vals else None


def comparisons(all_groups: list[Group]) -> dict[str, list[Comparison]]:
    """For each factor, every matched (off, on) pair present in the study; [] when none."""
    by_variant = {g.variant: g for g in all_groups}
    out: dict[str, list[Comparison]] = {f: [] for f in FACTORS}
    for factor in FACTORS:
        for off in sorted(v for v in by_variant if not getattr(v, factor)):
            on = off.with_factor(factor, True)
            if on not in by_variant:
                continue
            g_off, g_on = by_variant[off], by_variant[on]
            for train in g_off.after:
                if train not in g_on.after:
                    continue
                ood_off, ood_on = mean_ood(g_off, train), mean_ood(g_on, train)
                if ood_off is None or ood_on is None:
                    continue
                off_ci, on_ci, diff_ci = mean_ood_cis(g_off, g_on, train)
                out[factor].append(Comparison(
                    factor, train, off, ood_off, ood_on,
                    g_off.after[train].get(train), g_on.after[train].get(train), off_ci, on_ci, diff_ci,
                    in_domain_ci(g_off, train), in_domain_ci(g_on, train),
                ))
    return out


@dataclass
class VariantPair:
    """Tables 5 and 7: one training domain trained with `factor` at its standard value
    (`baseline`) and switched (`variant`), every other factor equal."""

    factor: str
    train: str
    baseline: Group
    variant: Group

    @property
    def ood(self) -> list[str]:
        """OOD evaluation domains measured in both."""
        return [e for e in self.baseline.after[self.train]
                if e != self.train and e in self.variant.after[self.train]]


def variant_pairs(all_groups: list[Group], factor: str) -> list[VariantPair]:
    """Every (standard, switched) pair of groups for `factor`, per training domain in both."""
    by_variant = {g.variant: g for g in all_groups}
    out = []
    for base_variant, base in by_variant.items():
        if getattr(base_variant, factor) != STANDARD[factor]:
            continue
        switched = by_variant.get(base_variant.with_factor(factor, not STANDARD[factor]))
        if switched is None:
            continue
        out += [VariantPair(factor, t, base, switched) for t in base.after if t in switched.after]
    return out


@dataclass
class Start:
    """One starting point of a study (e.g. the paper's V1 or V2): its own evaluation before RL
    and its runs, both in results.json's form, and the domains of its SFT mix (empty when it
    had none)."""

    name: str
    results: dict  # "domains", "baseline" and "runs" as in results.json
    sft_mix: frozenset[str] = frozenset()

    def reference(self) -> Group | None:
        """The group of runs that table 6 compares: the standard recipe where it was run."""
        found = groups(self.results)
        standard = Variant(**STANDARD)
        return next((g for g in found if g.variant == standard), found[0] if found else None)


# --- Intervals of the report's changes (intervals.bootstrap; keys name what they resample) -----

def change_ci(base: dict[str, list[Measured]], group: Group, train: str, e: str) -> Interval | None:
    """after - before on one cell (ΔID on the diagonal), in points."""
    return bootstrap(lambda v: v["run", train, e] - v["start", e],
                     {("start", e): base[e], ("run", train, e): group.measured[train][e]})


def relative_ci(base: dict[str, list[Measured]], group: Group, train: str, e: str) -> Interval | None:
    """The relative change (%) of one cell."""
    return bootstrap(lambda v: relative_change(v["start", e], v["run", train, e]),
                     {("start", e): base[e], ("run", train, e): group.measured[train][e]})


def retention_cis(base: dict[str, list[Measured]], group: Group, train: str,
                  r: Retention) -> tuple[Interval | None, Interval | None]:
    """Intervals of a Retention's mean OOD change (points) and mean tax (%), over the same
    domains as its point estimates."""
    ood = [e for e in group.after[train] if e != train and e in base]
    taxed = [e for e in ood if mean([pct(m.success) for m in base[e]]) != 0]

    def inputs(domains: list[str]) -> dict:
        # keyed as change_ci and relative_ci key them: over one domain, the same draws and interval
        return {("start", e): base[e] for e in domains} | {("run", train, e): group.measured[train][e]
                                                           for e in domains}

    def mean_tax(v: dict) -> float | None:
        rels = [relative_change(v["start", e], v["run", train, e]) for e in taxed]
        return None if None in rels else mean(rels)

    change = bootstrap(lambda v: mean([v["run", train, e] - v["start", e] for e in ood]),
                       inputs(ood)) if ood else None
    tax = bootstrap(mean_tax, inputs(taxed)) if r.mean_tax is not None else None
    return change, tax


def in_domain_ci(group: Group, train: str) -> Interval | None:
    runs = group.measured[train].get(train)
    return success_interval(runs) if runs else None


def mean_ood_cis(off: Group, on: Group, train: str) -> tuple[Interval | None, ...]:
    """Intervals of the mean OOD success (%) with a factor off, on, and of on - off."""
    ood = [e for e in off.after[train] if e != train and e in on.after[train]]
    inputs = ({("off", e): off.measured[train][e] for e in ood}
              | {("on", e): on.measured[train][e] for e in ood})
    return (bootstrap(lambda v: mean([v["off", e] for e in ood]), inputs),
            bootstrap(lambda v: mean([v["on", e] for e in ood]), inputs),
            bootstrap(lambda v: mean([v["on", e] - v["off", e] for e in ood]), inputs))


def pair_ood_change(pair: VariantPair) -> float | None:
    """Tables 5 and 7: metrics.ood_change of the switched run against the standard one."""
    t = pair.train
    return ood_change({e: pair.baseline.after[t][e] for e in pair.ood},
                      {e: pair.variant.after[t][e] for e in pair.ood})


def pair_ood_change_ci(pair: VariantPair) -> Interval | None:
    t = pair.train
    inputs = ({("standard", t, e): pair.baseline.measured[t][e] for e in pair.ood}
              | {("switched", t, e): pair.variant.measured[t][e] for e in pair.ood})
    return bootstrap(lambda v: ood_change({e: v["standard", t, e] for e in pair.ood},
                                          {e: v["switched", t, e] for e in pair.ood}), inputs)


def start_difference_ci(first: tuple[dict[str, list[Measured]], Group],
                        second: tuple[dict[str, list[Measured]], Group],
                        train: str, e: str) -> Interval | None:
    """Table 6: interval of (relative change from the second start) - (from the first)."""
    (base1, g1), (base2, g2) = first, second

    def difference(v: dict) -> float | None:
        r1 = relative_change(v["first start", e], v["first", train, e])
        r2 = relative_change(v["second start", e], v["second", train, e])
        return None if r1 is None or r2 is None else r2 - r1

    return bootstrap(difference, {("first start", e): base1[e], ("first", train, e): g1.measured[train][e],
                                  ("second start", e): base2[e], ("second", train, e): g2.measured[train][e]})
