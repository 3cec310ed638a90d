"""The report's sections that hold for any study: source, summary, baseline, runs, the train x
eval matrices, profiles, learning curves, variant comparisons, examples and configuration. The
paper's own tables are in paper_tables.py; report.py puts them in order.

Each section adds blocks to a Document; every number is printed by formatting.py.
"""

from __future__ import annotations

import json

from gentax.study import aggregate as agg
from gentax.study import figures
from gentax.study.document import (
    Bullets,
    Code,
    Document,
    Heading,
    Image,
    Paragraph,
    Step,
    Table,
    Trajectory,
)
from gentax.study.formatting import (
    MISSING,
    corr,
    interval,
    noise,
    num,
    pct,
    points,
    rel,
    slug,
    title,
    with_interval,
)
from gentax.study.intervals import Measured, success_interval, wilson
from gentax.study.metrics import TIE_POINTS, pearson, spearman

EXAMPLES_PER_DOMAIN = 3
STEPS_PER_EXAMPLE = 8
ZERO_BASELINE = "relative change undefined (zero baseline)"
FACTOR_NAMES = {"augment": "state augmentation", "think": "thinking", "sft": "SFT warm-up",
                "gigpo": "GiGPO step-level advantages"}
FACTOR_BARS = {"augment": ("no aug", "aug"), "think": ("no think", "think"), "sft": ("no SFT", "SFT"),
               "gigpo": ("GRPO", "GiGPO")}


def source_section(doc: Document, results: dict, digest: str) -> None:
    doc.add(Paragraph(
        f"Every number in this report is computed from `results.json` in this folder "
        f"(sha256 {digest[:16]}…, study created {results['created'] or 'at an unknown time'}), "
        f"by `gentax report`. Success rates are the file's fractions × 100, in percent; rates, "
        f"percentages, points, characters, steps, returns and rank scores are shown with one "
        f"decimal, relative changes as percent with one decimal, correlations with three."))


def summary_section(doc: Document, results: dict, groups: list[agg.Group], before: dict[str, float],
                    base: dict[str, list[Measured]], comps: dict[str, list[agg.Comparison]]) -> None:
    runs = results["runs"]
    evaluated = [r for r in runs if r["eval"]]
    items = [
        f"Evaluation domains: {', '.join(results['domains'])}. Starting model: "
        f"`{results['baseline'].get('model', 'unknown')}`.",
        f"Runs: {len(runs)} ({len(evaluated)} evaluated) over training domains "
        f"{', '.join(sorted({r['train_domain'] for r in runs}, key=results['domains'].index)) or 'none'}, "
        f"{len(groups)} variant setting(s), seeds {sorted({r['variant']['seed'] for r in runs})}.",
    ]
    others = [s["name"] for s in _other_starts(results)]
    if others:
        items.append(f"Starts: {results['start']} (the sections below) and "
                     f"{', '.join(others)} (each in its own section, \"Start …\").")
    if groups:
        ref = groups[0]
        items.append(f"Reference setting (the one covering most training domains): {ref.variant.label}.")
        cells = agg.group_cells(ref, before)
        ret = agg.retention(ref, before)
        for train in ref.after:
            gain = next((c for c in cells if c.train == train and c.in_domain), None)
            r = ret[train]
            parts = ["in-domain not evaluated"]
            if gain:
                ci = agg.change_ci(base, ref, train, train)
                parts = [f"in-domain gain {points(gain.change)} points {interval(ci, points)} ({noise(ci)})"]
            change_ci, tax_ci = agg.retention_cis(base, ref, train, r)
            if r.mean_ood_change is not None:
                parts.append(f"mean OOD change {points(r.mean_ood_change)} points "
                             f"{interval(change_ci, points)} ({noise(change_ci)})")
            parts.append(f"mean generalization tax {rel(r.mean_tax)} {interval(tax_ci, rel)} (over "
                         f"{r.ood_domains} OOD domain(s) with a non-zero baseline)" if r.mean_tax is not None
                         else "generalization tax undefined (every OOD baseline is zero or missing)")
            items.append(f"Trained on {train} ({ref.variant.label}): " + ", ".join(parts) + ".")
        scores = agg.rank_scores(ref)
        if scores:
            best = min(scores.values())
            winners = [t for t, s in scores.items() if s == best]
            items.append(f"Best OOD rank score ({ref.variant.label}): {', '.join(winners)} with {num(best)} "
                         "(lower is better).")
    for factor, pairs in comps.items():
        if pairs:
            diff = agg.mean([c.ood_on - c.ood_off for c in pairs])
            noisy = sum(1 for c in pairs if c.difference_ci is None or c.difference_ci.within_noise)
            items.append(f"{title(FACTOR_NAMES[factor])}: mean OOD success {points(diff)} points with it "
                         f"on than off ({len(pairs)} matched pair(s), {noisy} of them within noise).")
        else:
            items.append(f"{title(FACTOR_NAMES[factor])}: not compared in this study (no runs with it "
                         "both on and off under otherwise equal settings).")
    doc.add(Heading("Summary"), Bullets(items))


def baseline_section(doc: Document, results: dict, level: int = 2) -> None:
    rows = []
    for d in results["domains"]:
        s = results["baseline"]["eval"].get(d)
        if s is None:
            rows.append([d] + [MISSING] * 7)
            continue
        rows.append([d, pct(100 * s["success"]), interval(wilson(s["success"], s["episodes"]), pct),
                     num(s["mean_return"]), num(s["mean_length"]),
                     pct(100 * s["invalid_action_rate"]), pct(100 * s["format_error_rate"]),
                     str(s["episodes"])])
    doc.add(Heading("Baseline", level), Table(
        ["domain", "success (%)", "95% CI", "mean return", "mean length", "invalid actions (%)",
         "format errors (%)", "episodes"], rows,
        f"The starting model `{results['baseline'].get('model', 'unknown')}` before RL "
        "(results.json: baseline.eval; rates × 100; 95% CI: Wilson over the episodes)."))


def runs_section(doc: Document, results: dict, level: int = 2) -> None:
    domains = results["domains"]
    rows = []
    for r in results["runs"]:
        v = r["variant"]
        rows.append([r["id"], r["train_domain"], agg.variant_of(r).label, str(v["seed"]),
                     ", ".join(map(str, r["checkpoints"])) or MISSING]
                    + [_run_success(r["eval"][d]) if d in r["eval"] else MISSING for d in domains])
    doc.add(Heading("Runs", level), Table(
        ["run", "trained on", "setting", "seed", "evaluated checkpoints"] + [f"{d} (%)" for d in domains],
        rows,
        "Success per run and evaluation domain (results.json: runs[].eval[domain].success × 100, the mean "
        "over the run's evaluated checkpoints) and its 95% Wilson interval over the run's episodes."))


def other_starts_section(doc: Document, results: dict) -> None:
    """Every start but the one whose runs the sections above show (results.json's top level): its
    baseline, runs and train x eval matrices, numbered as those above."""
    for s in _other_starts(results):
        part = {**results, "baseline": s["baseline"], "runs": s["runs"]}
        doc.add(Heading(f"Start {s['name']}"), Paragraph(
            f"The sections above are start {results['start']}'s; these are start {s['name']}'s "
            f"(results.json: starts[name = {s['name']}]), computed the same way."))
        baseline_section(doc, part, level=3)
        runs_section(doc, part, level=3)
        before, base = agg.baseline_pct(part), agg.baseline_measured(part)
        for i, g in enumerate(agg.groups(part)):
            matrix_section(doc, part, g, before, base, ref=i == 0, level=4, start=s["name"])


def _other_starts(results: dict) -> list[dict]:
    """results.json's starts other than the top level's (none in a one-start study)."""
    return [s for s in results.get("starts") or [] if s["name"] != results.get("start")]


def _run_success(summary: dict) -> str:
    return with_interval(100 * summary["success"], wilson(summary["success"], summary["episodes"]), pct)


def matrix_section(doc: Document, results: dict, group: agg.Group, before: dict[str, float],
                   base: dict[str, list[Measured]], ref: bool, level: int = 3, start: str = "") -> None:
    """`start` names the start when it is not the top level's (its figure gets its own file)."""
    domains = results["domains"]
    label = group.variant.label
    doc.add(Heading(f"{label}" + (" (reference setting)" if ref else ""), level))
    model = results["baseline"].get("model", "baseline")
    trains = list(group.after)
    names = ["baseline"] + [f"{t} ({group.seeds[t]} seed{'s' if group.seeds[t] > 1 else ''})" for t in trains]
    values = [[before.get(e) for e in domains]] + [[group.after[t].get(e) for e in domains] for t in trains]
    runs = [[base.get(e) for e in domains]] + [[group.measured[t].get(e) for e in domains] for t in trains]
    doc.add(Table(
        ["trained on \\ evaluated on"] + domains,
        [[n] + [MISSING if v is None else with_interval(v, success_interval(m), pct) for v, m in zip(row, ms,
                                                                                                   strict=True)]
         for n, row, ms in zip(names, values, runs, strict=True)],
        f"Success (%), {label}, with its 95% interval: the baseline row is `{model}` before RL (Wilson over "
        "its episodes); each training row is the mean over its seeds of runs[].eval[domain].success × 100 "
        "(Wilson over the episodes for one seed, the t interval over the seeds for several)."))
    doc.add(Image(f"heatmap-{slug(f'{start} {label}' if start else label)}.png",
                  figures.heatmap(names, domains, values, pct, f"success (%), {label}"),
                  f"Train × eval success (%), {label}; the diagonal is in-domain."))

    rows = []
    for c in agg.group_cells(group, before):
        if c.in_domain:
            tax = "— (in-domain: the change is the gain)"
        elif c.relative_change is None:
            tax = ZERO_BASELINE
        else:
            tax = with_interval(c.relative_change, agg.relative_ci(base, group, c.train, c.eval), rel)
        change_ci = agg.change_ci(base, group, c.train, c.eval)
        rows.append([c.train, c.eval, "in-domain" if c.in_domain else "OOD",
                     with_interval(c.before, success_interval(base[c.eval]), pct),
                     with_interval(c.after, success_interval(group.measured[c.train][c.eval]), pct),
                     with_interval(c.change, change_ci, points), noise(change_ci), tax])
    doc.add(Table(
        ["trained on", "evaluated on", "kind", "before (%)", "after (%)", "change (points)",
         "change vs noise", "generalization tax (relative change)"], rows,
        f"{label}: change = after − before (the in-domain gain on the diagonal, the OOD change elsewhere); "
        "tax = (after − before) / before; with a zero baseline only the absolute change is defined. "
        "Brackets: 95% intervals (success: Wilson or over seeds; changes: bootstrap over episodes and "
        "seeds); a change whose interval holds 0 is within noise."))

    if len(group.after) < 2:
        doc.add(Paragraph(f"{label}: one training domain only, so no OOD rank score "
                          "(nothing to rank against)."))
        return
    scores = agg.rank_scores(group)
    rows = [[t, num(s), str(sum(1 for e in group.after[t] if e != t))] for t, s in scores.items()]
    doc.add(Table(
        ["trained on", "OOD rank score", "OOD domains ranked"], rows,
        f"{label}: for each evaluation domain, the training domains for which it is OOD are ranked by "
        f"success (1 = best; values less than {TIE_POINTS:g} points apart share a rank and the next value "
        "gets the next integer); the score sums a training domain's ranks. Lower is better."))


def profiles_section(doc: Document, results: dict, group: agg.Group | None, before: dict[str, float],
                     base: dict[str, list[Measured]]) -> None:
    doc.add(Heading("Environment profile and OOD retention"))
    profiles = results["profiles"]
    if not profiles:
        doc.add(Paragraph("results.json has no domain profiles (`profiles`), so this section is empty."))
        return
    ret = agg.retention(group, before) if group else {}
    scores = agg.rank_scores(group) if group else {}
    rows = []
    for d in sorted(profiles, key=lambda d: results["domains"].index(d) if d in results["domains"] else 99):
        p, r = profiles[d], ret.get(d)
        change_ci, tax_ci = agg.retention_cis(base, group, d, r) if r else (None, None)
        rows.append([
            d, num(p["richness_chars"]), num(p["planning_complexity"]),
            with_interval(r.mean_ood_change, change_ci, points) if r else MISSING,
            pct(r.retention) if r and r.retention is not None else MISSING,
            with_interval(r.mean_tax, tax_ci, rel) if r else MISSING,
            num(scores[d]) if d in scores else MISSING,
        ])
    setting = group.variant.label if group else "no evaluated runs"
    doc.add(Table(
        ["domain", "richness (chars/state)", "planning complexity", "mean OOD change (points)",
         "OOD retention (%)", "mean tax", "OOD rank score"], rows,
        "Profiles from results.json: profiles[domain] (richness_chars, planning_complexity); the rest "
        f"is for training on that domain, {setting}: retention = 100 × mean over OOD domains with a "
        "non-zero baseline of after / before; mean tax = mean relative change over the same domains "
        "(= retention − 100, so its bootstrap interval is retention's too); — = not trained on / undefined."))

    usable = [d for d in profiles if d in ret and ret[d].retention is not None]
    ys = [ret[d].retention for d in usable]
    rows = []
    for key, name in (("richness_chars", "richness"), ("planning_complexity", "planning complexity")):
        xs = [profiles[d][key] for d in usable]
        rows.append([f"{name} vs OOD retention", corr(pearson(xs, ys), len(usable)),
                     corr(spearman(xs, ys), len(usable)), str(len(usable))])
    doc.add(Table(["pair", "Pearson", "Spearman", "training domains"], rows,
                  "Correlation across training domains with a profile and a defined retention."))

    notes = {}
    for d in profiles:
        r = ret.get(d)
        if r is None:
            continue
        notes[d] = (f"mean tax {rel(r.mean_tax)}" if r.mean_tax is not None
                    else "tax undefined (zero baseline)")
    points_ = [{"domain": d, "augment_eps": 0.0, **p} for d, p in profiles.items()]
    doc.add(Image("profile.png", figures.profile_scatter(points_, notes),
                  f"Richness against planning complexity per domain, annotated with the mean generalization "
                  f"tax of training on it ({setting})."))


def curves_section(doc: Document, results: dict) -> None:
    doc.add(Heading("Learning curves"))
    trains = sorted({r["train_domain"] for r in results["runs"] if r["curve"]}, key=results["domains"].index)
    if not trains:
        doc.add(Paragraph("No run has logged a learning curve yet."))
    for t in trains:
        runs = [r for r in results["runs"] if r["train_domain"] == t and r["curve"]]
        doc.add(Image(f"curves-{slug(t)}.png", figures.learning_curves(t, runs),
                      f"Runs trained on {t}: training success (%) and mean return per RL step "
                      "(results.json: runs[].curve)."))


def variants_section(doc: Document, comps: dict[str, list[agg.Comparison]]) -> None:
    doc.add(Heading("Variant comparisons"))
    doc.add(Paragraph("Each pair differs in one factor only (same training domain, same other factors, "
                      "seeds averaged). Mean OOD success = mean over the evaluation domains other than the "
                      "training one of the seed-mean success (%)."))
    for factor, pairs in comps.items():
        doc.add(Heading(title(FACTOR_NAMES[factor]), 3))
        if not pairs:
            doc.add(Paragraph(f"Not in this study: no runs with {FACTOR_NAMES[factor]} both on and off under "
                              "otherwise equal settings."))
            continue
        off_name, on_name = FACTOR_BARS[factor]
        several = len({c.context for c in pairs}) > 1
        labels = [c.train + (f"\n{c.context.label}" if several else "") for c in pairs]
        rows = [[c.train, c.context.label, with_interval(c.ood_off, c.ood_off_ci, pct),
                 with_interval(c.ood_on, c.ood_on_ci, pct),
                 with_interval(c.ood_on - c.ood_off, c.difference_ci, points),
                 noise(c.difference_ci), with_interval(c.in_off, c.in_off_ci, pct),
                 with_interval(c.in_on, c.in_on_ci, pct)]
                for c in pairs]
        doc.add(Table(["trained on", "setting (off)", f"OOD {off_name} (%)", f"OOD {on_name} (%)",
                       "OOD difference (points)", "difference vs noise", f"in-domain {off_name} (%)",
                       f"in-domain {on_name} (%)"],
                      rows, f"{title(FACTOR_NAMES[factor])} off against on. Brackets: 95% intervals (mean "
                      "OOD success and its difference: bootstrap over episodes and seeds; in-domain success: "
                      "Wilson or over seeds)."))
        bars = figures.paired_bars(labels, [c.ood_off for c in pairs], [c.ood_on for c in pairs],
                                   off_name, on_name, pct, f"{FACTOR_NAMES[factor]}: mean OOD success")
        doc.add(Image(f"variant-{factor}.png", bars,
                      f"Mean OOD success (%) with {FACTOR_NAMES[factor]} off and on."))


def examples_section(doc: Document, results: dict) -> None:
    doc.add(Heading("Example trajectories"))
    examples = results["examples"]
    if not any(examples.values()):
        doc.add(Paragraph("results.json has no example trajectories."))
        return
    for d in results["domains"]:
        chosen = examples.get(d, [])[:EXAMPLES_PER_DOMAIN]
        if not chosen:
            continue
        doc.add(Heading(d, 3))
        for t in chosen:
            shown = t["steps"][:STEPS_PER_EXAMPLE]
            left = len(t["steps"]) - len(shown)
            outcome = "won" if t["won"] else "lost"
            doc.add(Trajectory(
                f"{t['model']} · {outcome} · {len(t['steps'])} step(s) · task: {t['task']}",
                [Step(str(s["observation"]), str(s["response"]), str(s["action"]), num(float(s["reward"])))
                 for s in shown],
                f"{left} more step(s) not shown." if left else ""))




def cells_section(doc: Document, results: dict) -> None:
    """What every cell cost (wall and CPU time) and where it ran (machine, gentax commit)."""
    cells, machines = results["cells"], results["machines"]
    if not cells:
        return
    items = [f"machine {i}: {m['cpus']} CPUs ({m['cpu'] or 'CPU model unknown'}; flags "
             f"{' '.join(m['cpu_flags']) or 'none of avx/amx'}), GPU {m['gpu'] or 'none'}"
             for i, m in enumerate(machines)]
    commits = sorted({f"{c['git_commit'][:10]}{' (modified)' if c['git_dirty'] else ''}"
                      for c in cells if c["git_commit"]})
    items.append(f"gentax commit(s): {', '.join(commits) or 'not recorded'}")

    def minutes(v: float | None) -> str:
        return MISSING if v is None else num(v / 60)
    def name(c: dict) -> str:  # older results lack resumed_from_step
        step = c.get("resumed_from_step")
        return c["name"] + (f" (resumed at step {step})" if step else "")
    rows = [[name(c), minutes(c["seconds"]), minutes(c["cpu_seconds"]),
             MISSING if c["machine"] is None else str(c["machine"]),
             c["git_commit"][:10] if c["git_commit"] else MISSING] for c in cells]
    total = [sum(c[k] or 0 for c in cells) for k in ("seconds", "cpu_seconds")]
    rows.append(["all cells", minutes(total[0]), minutes(total[1]), "", ""])
    doc.add(Heading("Cells: time and machine"), Bullets(items), Table(
        ["cell", "wall (min)", "CPU (min)", "machine", "commit"], rows,
        "Each cell as computed, perhaps in another sitting (results.json: cells, machines); CPU time "
        "is the study process's, all threads; a training cell resumed at step k counts only the "
        "sitting that finished it (steps after k); — where a cell was computed before gentax "
        "recorded it."))


def config_section(doc: Document, results: dict) -> None:
    doc.add(Heading("Study configuration"), Code(json.dumps(results["config"], indent=2, sort_keys=True)))
