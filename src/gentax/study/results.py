"""Reading a study's results.json, checked field by field so a bad file fails with a clear error.

Success values in the file are fractions in [0, 1]; the report converts them to percent.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

EVAL_FIELDS = ("success", "mean_return", "mean_length", "invalid_action_rate", "format_error_rate",
               "episodes")
# Names results.json used before the one episode-metrics function; read as the new ones.
OLD_NAMES = {"invalid_rate": "invalid_action_rate"}
VARIANT_FIELDS = ("augment", "think", "sft", "seed")


class ResultsError(ValueError):
    """results.json is missing, not JSON, or does not follow the schema (the message names the field)."""


def _need(cond: bool, where: str, what: str) -> None:
    if not cond:
        raise ResultsError(f"results.json: {where} {what}")


def _is_number(x: Any) -> bool:
    return isinstance(x, int | float) and not isinstance(x, bool)


def _check_eval(summary: Any, where: str) -> None:
    _need(isinstance(summary, dict), where, "must be an object")
    for old, new in OLD_NAMES.items():
        if old in summary and new not in summary:
            summary[new] = summary.pop(old)
    for key in EVAL_FIELDS:
        _need(key in summary, where, f"is missing {key!r}")
    s = summary["success"]
    _need(_is_number(s) and 0 <= s <= 1, f"{where}.success", f"must be a fraction in [0, 1], got {s!r}")
    for key in ("mean_return", "mean_length", "invalid_action_rate", "format_error_rate"):
        _need(_is_number(summary[key]), f"{where}.{key}", f"must be a number, got {summary[key]!r}")
    _need(isinstance(summary["episodes"], int) and summary["episodes"] >= 0, f"{where}.episodes",
          "must be a non-negative integer")


def _check_evals(evals: Any, where: str, domains: list[str]) -> None:
    _need(isinstance(evals, dict), where, "must be an object {domain: summary}")
    for domain, summary in evals.items():
        _need(domain in domains, f"{where}.{domain}", f"is not one of the study's domains {domains}")
        _check_eval(summary, f"{where}.{domain}")


def _check_run(run: Any, where: str, domains: list[str]) -> None:
    _need(isinstance(run, dict), where, "must be an object")
    for key in ("id", "train_domain", "variant", "curve", "checkpoints", "eval"):
        _need(key in run, where, f"is missing {key!r}")
    _need(isinstance(run["id"], str) and run["id"], f"{where}.id", "must be a non-empty string")
    _need(run["train_domain"] in domains, f"{where}.train_domain",
          f"{run['train_domain']!r} is not one of the study's domains {domains}")
    variant = run["variant"]
    _need(isinstance(variant, dict), f"{where}.variant", "must be an object")
    for key in VARIANT_FIELDS:
        _need(key in variant, f"{where}.variant", f"is missing {key!r}")
    for key in ("augment", "think", "sft"):
        _need(isinstance(variant[key], bool), f"{where}.variant.{key}", "must be true or false")
    _need(variant.get("advantage", "grpo") in ("grpo", "gigpo"), f"{where}.variant.advantage",
          f"must be grpo or gigpo, got {variant.get('advantage')!r}")
    _need(isinstance(variant["seed"], int), f"{where}.variant.seed", "must be an integer")
    _need(isinstance(run["curve"], list), f"{where}.curve", "must be a list")
    for i, point in enumerate(run["curve"]):
        at = f"{where}.curve[{i}]"
        _need(isinstance(point, dict) and isinstance(point.get("step"), int), at, "needs an integer 'step'")
        _need(_is_number(point.get("success")) and 0 <= point["success"] <= 1, f"{at}.success",
              "must be a fraction in [0, 1]")
        _need(_is_number(point.get("mean_return")), f"{at}.mean_return", "must be a number")
        _need(point.get("kl") is None or _is_number(point["kl"]), f"{at}.kl", "must be a number or null")
    _need(isinstance(run["checkpoints"], list) and all(isinstance(c, int) for c in run["checkpoints"]),
          f"{where}.checkpoints", "must be a list of integer steps")
    _check_evals(run["eval"], f"{where}.eval", domains)


def _check_examples(examples: Any, domains: list[str]) -> None:
    _need(isinstance(examples, dict), "examples", "must be an object {domain: [trajectory]}")
    for domain, trajectories in examples.items():
        where = f"examples.{domain}"
        _need(domain in domains, where, f"is not one of the study's domains {domains}")
        _need(isinstance(trajectories, list), where, "must be a list")
        for i, t in enumerate(trajectories):
            at = f"{where}[{i}]"
            _need(isinstance(t, dict), at, "must be an object")
            for key in ("model", "task", "won", "steps"):
                _need(key in t, at, f"is missing {key!r}")
            _need(isinstance(t["steps"], list), f"{at}.steps", "must be a list")
            for j, step in enumerate(t["steps"]):
                _need(isinstance(step, dict), f"{at}.steps[{j}]", "must be an object")
                for key in ("observation", "response", "action", "reward"):
                    _need(key in step, f"{at}.steps[{j}]", f"is missing {key!r}")
                _need(_is_number(step["reward"]), f"{at}.steps[{j}].reward", "must be a number")


def check_results(data: Any) -> dict:
    """Validate a parsed results.json; returns it with optional parts defaulted."""
    _need(isinstance(data, dict), "the top level", "must be an object")
    for key in ("name", "domains", "baseline", "runs"):
        _need(key in data, "the top level", f"is missing {key!r}")
    domains = data["domains"]
    _need(isinstance(domains, list) and domains and all(isinstance(d, str) for d in domains),
          "domains", "must be a non-empty list of domain names")
    _need(len(set(domains)) == len(domains), "domains", "has duplicates")
    baseline = data["baseline"]
    _need(isinstance(baseline, dict) and "eval" in baseline, "baseline", "must be an object with 'eval'")
    _check_evals(baseline["eval"], "baseline.eval", domains)
    _need(isinstance(data["runs"], list), "runs", "must be a list")
    for i, run in enumerate(data["runs"]):
        _check_run(run, f"runs[{i}]", domains)
    ids = [r["id"] for r in data["runs"]]
    _need(len(set(ids)) == len(ids), "runs", "has duplicate ids")
    data.setdefault("created", "")
    data.setdefault("config", {})
    data.setdefault("profiles", {})
    data.setdefault("examples", {})
    data.setdefault("cells", [])  # what each cell cost and where (older results lack them)
    data.setdefault("machines", [])
    _need(isinstance(data["profiles"], dict), "profiles", "must be an object {domain: profile}")
    for domain, prof in data["profiles"].items():
        for key in ("richness_chars", "planning_complexity"):
            _need(isinstance(prof, dict) and _is_number(prof.get(key)), f"profiles.{domain}.{key}",
                  "must be a number")
    _check_examples(data["examples"], domains)
    return data


def load_results(path: str | Path) -> dict:
    """Read and validate results.json."""
    path = Path(path)
    if not path.is_file():
        raise ResultsError(f"no results.json at {path}")
    try:
        data = json.loads(path.read_text())
    except json.JSONDecodeError as e:
        raise ResultsError(f"{path} is not valid JSON: {e}") from None
    return check_results(data)
