"""The study report: its numbers against values worked out here, zero baselines, missing
variants, bad input, and report.html opened in headless Chromium.

FIXTURE: every results.json below is built by these tests with hand-picked numbers; none is
the output of a real study.
"""

import json
import math
import re
import shutil
import subprocess
import sys

import pytest

from gentax.study.report import Start, build_report
from gentax.study.results import ResultsError

DOMAINS = ["sokoban", "webshop", "alfworld"]
# Baseline success (fractions). webshop is 0: its relative change is undefined.
BASELINE = {"sokoban": 0.20, "webshop": 0.0, "alfworld": 0.40}
# Standard setting (think, no augmentation, no SFT): train -> [seed 0, seed 1] -> eval -> success.
STANDARD = {
    "sokoban": [{"sokoban": 0.60, "webshop": 0.10, "alfworld": 0.30},
                {"sokoban": 0.50, "webshop": 0.12, "alfworld": 0.34}],
    "webshop": [{"sokoban": 0.10, "webshop": 0.40, "alfworld": 0.20},
                {"sokoban": 0.14, "webshop": 0.50, "alfworld": 0.20}],
    "alfworld": [{"sokoban": 0.15, "webshop": 0.11, "alfworld": 0.80},
                 {"sokoban": 0.15, "webshop": 0.108, "alfworld": 0.70}],
}
AUG_SOKOBAN = {"sokoban": 0.50, "webshop": 0.20, "alfworld": 0.38}
NO_THINK_SOKOBAN = {"sokoban": 0.45, "webshop": 0.01, "alfworld": 0.05}
PROFILES = {"sokoban": (412.0, 44.5), "webshop": (3063.0, 33.9), "alfworld": (1572.0, 42.0)}
NASTY = "<script>document.title='pwned'</script> & <b>bold</b> | pipe ``` fence"


def summary(success):
    return {"success": success, "mean_return": 10 * success, "mean_length": 7.25, "invalid_rate": 0.05,
            "format_error_rate": 0.01, "episodes": 20}


def run(train, success, augment=False, think=True, seed=0):
    tag = ("aug-" if augment else "") + ("think" if think else "nothink")
    curve = [{"step": s, "success": min(1.0, success[train] * s / 30), "mean_return": s / 3,
              "kl": 0.001 * s} for s in (0, 10, 20, 30)]
    return {"id": f"{train}-{tag}-seed{seed}", "train_domain": train,
            "variant": {"augment": augment, "think": think, "sft": False, "seed": seed},
            "curve": curve, "checkpoints": [20, 30], "eval": {d: summary(s) for d, s in success.items()}}


def fixture_results(with_variants=True):
    runs = [run(t, s, seed=i) for t, seeds in STANDARD.items() for i, s in enumerate(seeds)]
    if with_variants:
        runs += [run("sokoban", AUG_SOKOBAN, augment=True), run("sokoban", NO_THINK_SOKOBAN, think=False)]
    return {
        "name": "fixture-study", "created": "2026-11-25T22:00:00Z",
        "config": {"steps": 30, "note": "fixture"},
        "domains": DOMAINS,
        "baseline": {"model": "fixture-model", "eval": {d: summary(s) for d, s in BASELINE.items()}},
        "runs": runs,
        "profiles": {d: {"domain": d, "augment_eps": 0.0, "richness_chars": r, "planning_complexity": c}
                     for d, (r, c) in PROFILES.items()},
        "examples": {
            "sokoban": [{"model": "baseline", "task": "push the box", "won": False,
                         "steps": [{"observation": NASTY, "response": "<think>hm</think><action>up</action>",
                                    "action": "up", "reward": -0.1}]}],
            "webshop": [{"model": "webshop-think-seed0", "task": "buy shoes", "won": True,
                         "steps": [{"observation": f"page {i}", "response": "r", "action": "click[x]",
                                    "reward": 10.0 if i == 11 else 0.0} for i in range(12)]}],
        },
    }


def write_study(tmp_path, results):
    tmp_path.mkdir(parents=True, exist_ok=True)
    (tmp_path / "results.json").write_text(json.dumps(results))
    return tmp_path


# --- reading report.md back ----------------------------------------------------------------

def section(md, heading):
    """The text under a heading line, up to the next heading of the same or higher level."""
    lines = md.splitlines()
    start = lines.index(heading)
    level = len(heading) - len(heading.lstrip("#"))
    end = next((i for i in range(start + 1, len(lines))
                if re.match(rf"#{{1,{level}}} ", lines[i])), len(lines))
    return "\n".join(lines[start + 1:end])


def tables(text):
    """Every Markdown table in `text` as a list of {header: cell} rows."""
    found, lines, i = [], text.splitlines(), 0
    while i < len(lines):
        if lines[i].startswith("| ") and i + 1 < len(lines) and lines[i + 1].startswith("|---"):
            header = [c.strip() for c in lines[i].strip("|").split(" | ")]
            rows, i = [], i + 2
            while i < len(lines) and lines[i].startswith("| "):
                rows.append(dict(zip(header, [c.strip() for c in lines[i].strip()[2:-2].split(" | ")],
                                     strict=True)))
                i += 1
            found.append(rows)
        i += 1
    return found


def by(rows, key):
    return {r[key]: r for r in rows}


@pytest.fixture(scope="module")
def report(tmp_path_factory):
    study = write_study(tmp_path_factory.mktemp("study"), fixture_results())
    md_path, html_path = build_report(study)
    return study, md_path.read_text(), html_path.read_text()


def mean(xs):
    return sum(xs) / len(xs)


def value(cell):
    """The number of a 'value [low, high]' cell."""
    return cell.split(" [")[0]


def bounds(cell):
    """The (low, high) of a 'value [low, high]' cell, as floats."""
    low, high = re.search(r"\[([^,\]]+), ([^\]]+)\]", cell).groups()
    return float(low.rstrip("%")), float(high.rstrip("%"))


def wilson(p, n, z=1.959963984540054):
    """Written out here from the textbook formula, independently of gentax.study.intervals."""
    centre = (p + z * z / (2 * n)) / (1 + z * z / n)
    half = z * math.sqrt(p * (1 - p) / n + z * z / (4 * n * n)) / (1 + z * z / n)
    return f"[{100 * max(0, centre - half):.1f}, {100 * min(1, centre + half):.1f}]"


def seed_mean(train, e):
    return mean([100 * s[e] for s in STANDARD[train]])


REF = "### no aug / think / no SFT (reference setting)"


def test_matrix_is_the_seed_mean_in_percent(report):
    _, md, _ = report
    matrix = by(tables(section(md, REF))[0], "trained on \\ evaluated on")
    for e in DOMAINS:
        assert matrix["baseline"][e] == f"{100 * BASELINE[e]:.1f} {wilson(BASELINE[e], 20)}"
        for t in STANDARD:
            assert value(matrix[f"{t} (2 seeds)"][e]) == f"{seed_mean(t, e):.1f}"
    assert value(matrix["webshop (2 seeds)"]["alfworld"]) == "20.0"
    assert value(matrix["alfworld (2 seeds)"]["webshop"]) == "10.9"
    # Two seeds that agree (20.0 and 20.0 over 20 episodes each) are not exact: the interval is at
    # least the Wilson interval of the 40 pooled episodes.
    assert matrix["webshop (2 seeds)"]["alfworld"] == f"20.0 {wilson(0.2, 40)}"
    # Seeds that disagree: the t interval over the two seed means (t = 12.706 for 1 df) is wider.
    half = 12.706 * math.sqrt(((60 - 55) ** 2 + (50 - 55) ** 2) / 1) / math.sqrt(2)  # 63.5
    assert bounds(matrix["sokoban (2 seeds)"]["sokoban"]) == (max(0.0, 55 - half), min(100.0, 55 + half))


def test_gain_ood_change_and_tax_per_cell(report):
    _, md, _ = report
    rows = tables(section(md, REF))[1]
    cell = {(r["trained on"], r["evaluated on"]): r for r in rows}
    assert len(cell) == 9
    sok_in = cell["sokoban", "sokoban"]
    assert sok_in["kind"] == "in-domain" and value(sok_in["change (points)"]) == "+35.0"  # 55.0 - 20.0
    assert value(cell["sokoban", "alfworld"]["change (points)"]) == "-8.0"  # 32.0 - 40.0
    assert value(cell["sokoban", "alfworld"]["generalization tax (relative change)"]) == "-20.0%"
    # (12 - 20) / 20
    assert value(cell["webshop", "sokoban"]["generalization tax (relative change)"]) == "-40.0%"
    for t, e in [("sokoban", "sokoban"), ("webshop", "alfworld"), ("alfworld", "sokoban")]:
        before, after = 100 * BASELINE[e], seed_mean(t, e)
        assert value(cell[t, e]["before (%)"]) == f"{before:.1f}"
        assert value(cell[t, e]["after (%)"]) == f"{after:.1f}"
        assert value(cell[t, e]["change (points)"]) == f"{after - before:+.1f}"
        if t != e:
            tax = 100 * (after - before) / before
            assert value(cell[t, e]["generalization tax (relative change)"]) == f"{tax:+.1f}%"
    # every change carries its interval, around its value, and the table says whether it is noise
    for r in rows:
        low, high = bounds(r["change (points)"])
        assert low <= float(value(r["change (points)"])) <= high
        assert r["change vs noise"] == ("within noise" if low <= 0 <= high else "beyond noise")
    # +35 points from 20% on 20 episodes is beyond noise; -8 points on 20 + 2 x 20 episodes is not
    assert sok_in["change vs noise"] == "beyond noise"
    assert cell["sokoban", "alfworld"]["change vs noise"] == "within noise"


def test_zero_baseline_shows_absolute_change_and_says_relative_is_undefined(report):
    _, md, html = report
    cell = {(r["trained on"], r["evaluated on"]): r for r in tables(section(md, REF))[1]}
    zero = cell["sokoban", "webshop"]
    assert value(zero["before (%)"]) == "0.0" and value(zero["change (points)"]) == "+11.0"
    assert zero["generalization tax (relative change)"] == "relative change undefined (zero baseline)"
    assert value(cell["alfworld", "webshop"]["change (points)"]) == "+10.9"
    assert "relative change undefined (zero baseline)" in html
    assert "inf" not in zero["generalization tax (relative change)"]


def test_ood_rank_scores_with_ties(report):
    _, md, _ = report
    scores = by(tables(section(md, REF))[2], "trained on")
    # Worked out by hand. On sokoban: alfworld 15.0 > webshop 12.0. On webshop: sokoban 11.0 and
    # alfworld 10.9 are within 0.5 points: both rank 1. On alfworld: sokoban 32.0 > webshop 20.0.
    assert {t: r["OOD rank score"] for t, r in scores.items()} == {
        "sokoban": "2.0", "webshop": "4.0", "alfworld": "2.0"}


def test_profiles_retention_and_correlations(report):
    _, md, _ = report
    text = section(md, "## Environment profile and OOD retention")
    profile_rows, corr_rows = tables(text)
    rows = by(profile_rows, "domain")
    # Retention over OOD domains with a non-zero baseline (webshop's is 0 and left out).
    retention = {"sokoban": 100 * mean([32.0 / 40]), "webshop": 100 * mean([12.0 / 20, 20.0 / 40]),
                 "alfworld": 100 * mean([15.0 / 20])}
    for d, (richness, complexity) in PROFILES.items():
        assert rows[d]["richness (chars/state)"] == f"{richness:.1f}"
        assert rows[d]["planning complexity"] == f"{complexity:.1f}"
        assert rows[d]["OOD retention (%)"] == f"{retention[d]:.1f}"
        assert value(rows[d]["mean tax"]) == f"{retention[d] - 100:+.1f}%"
    assert value(rows["sokoban"]["mean OOD change (points)"]) == "+1.5"  # (+11 - 8) / 2
    # sokoban's mean tax is over alfworld alone: the same number and interval as that cell's tax
    cell = {(r["trained on"], r["evaluated on"]): r for r in tables(section(md, REF))[1]}
    alone = cell["sokoban", "alfworld"]["generalization tax (relative change)"]
    assert bounds(rows["sokoban"]["mean tax"]) == bounds(alone)
    xs = [PROFILES[d][0] for d in DOMAINS]
    ys = [retention[d] for d in DOMAINS]
    mx, my = mean(xs), mean(ys)
    r = sum((x - mx) * (y - my) for x, y in zip(xs, ys, strict=True)) / math.sqrt(
        sum((x - mx) ** 2 for x in xs) * sum((y - my) ** 2 for y in ys))
    corr = by(corr_rows, "pair")
    assert corr["richness vs OOD retention"]["Pearson"] == f"{r:+.3f}"
    # Richness ranks 1, 3, 2 against retention ranks 3, 1, 2: perfectly reversed.
    assert corr["richness vs OOD retention"]["Spearman"] == "-1.000"
    assert corr["richness vs OOD retention"]["training domains"] == "3"


def test_variant_comparisons_use_matched_runs(report):
    study, md, _ = report
    aug = tables(section(md, "### State augmentation"))[0]
    assert len(aug) == 1 and aug[0]["trained on"] == "sokoban"
    standard_ood = mean([seed_mean("sokoban", "webshop"), seed_mean("sokoban", "alfworld")])  # 21.5
    assert value(aug[0]["OOD no aug (%)"]) == f"{standard_ood:.1f}" == "21.5"
    assert value(aug[0]["OOD aug (%)"]) == "29.0" and value(aug[0]["OOD difference (points)"]) == "+7.5"
    assert aug[0]["difference vs noise"] == "within noise"  # 20-episode runs cannot tell 7.5 points
    think = tables(section(md, "### Thinking"))[0]
    assert value(think[0]["OOD no think (%)"]) == "3.0" and value(think[0]["OOD think (%)"]) == "21.5"
    assert think[0]["difference vs noise"] == "beyond noise"
    assert "Not in this study" in section(md, "### SFT warm-up")
    assert (study / "report_files" / "variant-augment.png").is_file()
    assert not (study / "report_files" / "variant-sft.png").exists()


# --- the paper's tables ---------------------------------------------------------------------

def test_paper_table3_and_table8_ranks(report):
    study, md, _ = report
    t3 = by(tables(section(md, "### Table 3: training domain, profile and OOD rank score"))[0],
            "training domain")
    assert {t: (r["state information richness (chars)"], r["planning complexity"], r["OOD rank score"])
            for t, r in t3.items()} == {"sokoban": ("412.0", "44.5", "2.0"),
                                        "webshop": ("3063.0", "33.9", "4.0"),
                                        "alfworld": ("1572.0", "42.0", "2.0")}
    assert (study / "report_files" / "rank-vs-profile.png").is_file()
    t8 = by(tables(section(md, "### Table 8: OOD rank per evaluation domain"))[0], "training domain")
    # the webshop column: sokoban 11.0 and alfworld 10.9 are less than 0.5 apart, so both rank 1
    assert [t8[t]["webshop"] for t in ("sokoban", "alfworld")] == ["1", "1"]
    assert t8["webshop"]["webshop"] == "in-domain" and t8["webshop"]["sokoban"] == "2"
    assert {t: r["OOD rank score"] for t, r in t8.items()} == {
        "sokoban": "2.0", "webshop": "4.0", "alfworld": "2.0"}


def test_paper_table2_has_the_gain_on_its_diagonal(report):
    _, md, _ = report
    t2 = by(tables(section(md, "### Table 2: success after RL, ΔID on the diagonal"))[0], "")
    assert t2["start (before RL)"]["alfworld"] == f"40.0 {wilson(0.4, 20)}"
    diagonal = t2["RL on sokoban"]["sokoban"]
    assert diagonal.startswith("ΔID +35.0 [") and "beyond noise; success 55.0 [" in diagonal
    assert value(t2["RL on webshop"]["sokoban"]) == "12.0"


def test_paper_tables_5_and_7_ood_change(report):
    _, md, _ = report
    t5 = by(tables(section(md, "### Table 5: state information augmentation, OOD change"))[0], "trained on")
    # standard OOD: webshop 11.0 + alfworld 32.0 = 43.0; augmented: 20.0 + 38.0 = 58.0 -> +34.9%
    aug = t5["sokoban (augmented)"]
    assert value(aug["OOD change (%)"]) == f"{100 * (58.0 - 43.0) / 43.0:+.1f}%" == "+34.9%"
    assert aug["OOD change vs noise"] == "within noise"
    assert value(t5["sokoban (standard)"]["webshop (%)"]) == "11.0"
    assert "Within noise (or undefined): the OOD change of sokoban." in md
    t7 = by(tables(section(md, "### Table 7: thinking switched off, OOD change"))[0], "trained on")
    off = t7["sokoban (no thinking)"]
    assert value(off["OOD change (%)"]) == f"{100 * (1.0 + 5.0 - 43.0) / 43.0:+.1f}%" == "-86.0%"
    assert off["OOD change vs noise"] == "beyond noise"
    low, high = bounds(off["OOD change (%)"])
    assert low < -86.0 < high


def test_table6_appears_only_with_two_starts(tmp_path, report):
    _, md, _ = report
    assert "Table 6" not in md  # results.json alone carries no starts
    v2 = fixture_results(with_variants=False)
    v1 = fixture_results(with_variants=False)
    v1["baseline"]["eval"]["alfworld"]["success"] = 0.50
    for r in v1["runs"]:
        r["eval"]["alfworld"]["success"] = 0.25 if r["train_domain"] != "alfworld" else 0.9
    study = write_study(tmp_path, v2)
    starts = [Start("V1", v1), Start("V2", v2, frozenset({"alfworld", "webshop"}))]
    md = build_report(study, starts=starts)[0].read_text()
    rows = {(r["trained on"], r["evaluated on (OOD)"]): r
            for r in tables(section(md, "### Table 6: relative change from V1 and from V2"))[0]}
    assert len(rows) == 6  # 3 training domains x 2 OOD domains each
    sok_alf = rows["sokoban", "alfworld"]
    # V1: 50.0 -> 25.0 = -50.0%; V2: 40.0 -> 32.0 = -20.0%; difference +30.0 points
    assert sok_alf["rel. change from V1"].startswith("50.0 → 25.0: -50.0% [")
    assert sok_alf["rel. change from V2"].startswith("40.0 → 32.0: -20.0% [")
    assert value(sok_alf["difference (V2 − V1, points)"]) == "+30.0"
    assert sok_alf["in V2's SFT mix"] == "yes" and rows["alfworld", "sokoban"]["in V2's SFT mix"] == "no"
    # a zero start (webshop) leaves the relative change, and so the difference, undefined
    assert rows["sokoban", "webshop"]["rel. change from V1"].endswith("undefined (zero start)")
    assert rows["sokoban", "webshop"]["difference (V2 − V1, points)"] == "—"


def test_summary_and_source(report):
    _, md, _ = report
    assert "`results.json` in this folder" in md
    text = section(md, "## Summary")
    assert "Trained on sokoban (no aug / think / no SFT): in-domain gain +35.0 points" in text
    assert "mean generalization tax -20.0%" in text
    assert "Best OOD rank score (no aug / think / no SFT): sokoban, alfworld with 2.0" in text
    assert "State augmentation: mean OOD success +7.5 points" in text
    assert "SFT warm-up: not compared" in text


def test_markdown_images_exist_and_html_embeds_them(report):
    study, md, html = report
    links = re.findall(r"!\[[^\]]*\]\((report_files/[^)]+)\)", md)
    # heatmaps (standard, aug, no think), the profile scatter, curves per training domain, two variants,
    # and the rank score against the profile (table 3)
    assert len(links) == 3 + 1 + 3 + 2 + 1
    for link in links:
        assert (study / link).read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    srcs = re.findall(r'<img src="([^"]+)"', html)
    assert len(srcs) == len(links) and all(s.startswith("data:image/png;base64,") for s in srcs)
    assert not re.search(r'(src|href)="(https?:)?//', html) and "<link" not in html


def test_examples_are_escaped_and_truncated(report):
    _, md, html = report
    assert NASTY not in html and "&lt;script&gt;document.title=" in html
    assert "4 more step(s) not shown." in md  # 12 steps, 8 shown
    assert NASTY in md  # inside a fence longer than the ``` it contains
    assert "````text" in md


def test_missing_variants_are_reported_as_absent(tmp_path):
    study = write_study(tmp_path, fixture_results(with_variants=False))
    md = build_report(study)[0].read_text()
    for heading in ("### State augmentation", "### Thinking", "### SFT warm-up"):
        assert "Not in this study" in section(md, heading)
    assert not list((study / "report_files").glob("variant-*.png"))


def test_all_ood_baselines_zero(tmp_path):
    results = fixture_results(with_variants=False)
    for d in DOMAINS:
        results["baseline"]["eval"][d]["success"] = 0.0
    md = build_report(write_study(tmp_path, results))[0].read_text()
    rows = tables(section(md, REF))[1]
    ood = [r for r in rows if r["kind"] == "OOD"]
    assert len(ood) == 6 and all(r["generalization tax (relative change)"] ==
                                 "relative change undefined (zero baseline)" for r in ood)
    corr = by(tables(section(md, "## Environment profile and OOD retention"))[1], "pair")
    assert corr["richness vs OOD retention"]["Pearson"] == "n/a (fewer than 3 domains)"
    assert "generalization tax undefined (every OOD baseline is zero or missing)" in md


def test_two_training_domains_give_no_correlation(tmp_path):
    results = fixture_results(with_variants=False)
    results["runs"] = [r for r in results["runs"] if r["train_domain"] != "alfworld"]
    md = build_report(write_study(tmp_path, results))[0].read_text()
    corr = by(tables(section(md, "## Environment profile and OOD retention"))[1], "pair")
    assert corr["planning complexity vs OOD retention"]["Spearman"] == "n/a (fewer than 3 domains)"


def test_bad_results_fail_with_the_field_named(tmp_path):
    with pytest.raises(ResultsError, match="no results.json"):
        build_report(tmp_path)
    results = fixture_results()
    results["runs"][0]["eval"]["sokoban"]["success"] = 1.7
    with pytest.raises(ResultsError, match=r"runs\[0\]\.eval\.sokoban\.success must be a fraction"):
        build_report(write_study(tmp_path, results))
    results = fixture_results()
    results["runs"][1]["train_domain"] = "chess"
    with pytest.raises(ResultsError, match=r"runs\[1\]\.train_domain"):
        build_report(write_study(tmp_path, results))


def test_a_study_with_no_evaluated_run_yet_still_reports(tmp_path):
    results = fixture_results(with_variants=False)
    for r in results["runs"]:
        r["eval"], r["checkpoints"] = {}, []
    md = build_report(write_study(tmp_path, results))[0].read_text()
    assert "No run has been evaluated yet." in md
    assert by(tables(section(md, "## Baseline"))[0], "domain")["alfworld"]["success (%)"] == "40.0"
    assert by(tables(section(md, "## Runs"))[0], "run")["sokoban-think-seed0"]["sokoban (%)"] == "—"


def test_cli_rebuilds_the_report(tmp_path):
    study = write_study(tmp_path / "s", fixture_results())
    out = subprocess.run([sys.executable, "-m", "gentax.cli", "report", str(study)],
                         capture_output=True, text=True, timeout=300)
    assert out.returncode == 0, out.stderr
    assert (study / "report.md").is_file() and (study / "report.html").is_file()
    bad = subprocess.run([sys.executable, "-m", "gentax.cli", "report", str(tmp_path / "nowhere")],
                         capture_output=True, text=True, timeout=300)
    assert bad.returncode == 2 and "no results.json" in bad.stdout + bad.stderr


# --- the page in a real browser ------------------------------------------------------------

CHECK = """<script>
window.addEventListener('load', () => {
  const imgs = [...document.images];
  document.body.setAttribute('data-check', JSON.stringify({
    images: imgs.length,
    rendered: imgs.filter(i => i.complete && i.naturalWidth > 0
                               && i.getBoundingClientRect().width > 0).length,
    tables: document.querySelectorAll('table').length,
    filled_tables: [...document.querySelectorAll('table')].filter(t => t.rows.length > 1).length,
    scripts: document.scripts.length,
    title: document.title,
  }));
});
</script>"""


def chromium():
    return shutil.which("chromium") or shutil.which("chromium-browser")


def render_check(html, tmp_path):
    """Open the page in headless Chromium and return what the check script recorded after load."""
    page = tmp_path / "page.html"
    page.write_text(html.replace("</body>", CHECK + "</body>"))
    out = subprocess.run(
        [chromium(), "--headless", "--no-sandbox", "--disable-gpu", "--disable-dev-shm-usage",
         "--disable-background-networking", "--disable-component-update", "--disable-sync", "--no-first-run",
         f"--user-data-dir={tmp_path / 'profile'}", "--virtual-time-budget=5000", "--dump-dom",
         page.as_uri()],
        capture_output=True, text=True, timeout=180)
    assert out.returncode == 0, out.stderr[-2000:]
    found = re.search(r'data-check="([^"]+)"', out.stdout)
    assert found, "the check script did not run: " + out.stdout[:500]
    return json.loads(found.group(1).replace("&quot;", '"'))


needs_chromium = pytest.mark.skipif(chromium() is None,
                                    reason="chromium is not installed (.ci/run installs Debian's chromium)")


@needs_chromium
def test_report_html_renders_in_headless_chromium(report, tmp_path):
    _, md, html = report
    check = render_check(html, tmp_path)
    expected_tables = sum(1 for line in md.splitlines() if line.startswith("|---"))
    assert check["images"] == 10 and check["rendered"] == 10
    assert check["tables"] == expected_tables == check["filled_tables"]
    assert check["scripts"] == 1  # only the check itself: the trajectory's <script> stayed text
    assert check["title"] == "gentax study report: fixture-study"


@needs_chromium
def test_the_browser_check_notices_a_broken_image(report, tmp_path):
    broken = report[2].replace('src="data:image/png;base64,', 'src="data:image/png;base64,AAAA', 1)
    check = render_check(broken, tmp_path)
    assert check["images"] == 10 and check["rendered"] == 9


def test_report_is_rebuilt_deterministically(report, tmp_path):
    study, md, _ = report
    copy_dir = tmp_path / "again"
    copy_dir.mkdir()
    shutil.copy(study / "results.json", copy_dir / "results.json")
    assert build_report(copy_dir)[0].read_text() == md


def test_a_gigpo_variant_is_compared_with_grpo_and_named(tmp_path):
    results = fixture_results(with_variants=False)  # written before GiGPO: no "advantage", so GRPO
    gigpo = run("sokoban", AUG_SOKOBAN)
    gigpo["id"], gigpo["variant"]["advantage"] = "sokoban-gigpo-think-seed0", "gigpo"
    results["runs"].append(gigpo)
    md = build_report(write_study(tmp_path, results))[0].read_text()
    (row,) = tables(section(md, "### GiGPO step-level advantages"))[0]
    assert row["trained on"] == "sokoban" and row["setting (off)"] == "no aug / think / no SFT"
    assert value(row["OOD GRPO (%)"]) == "21.5" and value(row["OOD GiGPO (%)"]) == "29.0"
    runs = by(tables(section(md, "## Runs"))[0], "run")
    assert runs[gigpo["id"]]["setting"] == "no aug / think / no SFT / GiGPO"
    assert "GiGPO step-level advantages: mean OOD success +7.5 points" in section(md, "## Summary")
    assert "Reference setting (the one covering most training domains): no aug / think / no SFT." in md
    gigpo["variant"]["advantage"] = "ppo"
    with pytest.raises(ResultsError, match=r"runs\[6\]\.variant\.advantage must be grpo or gigpo"):
        build_report(write_study(tmp_path, results))
