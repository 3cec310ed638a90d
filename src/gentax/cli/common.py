"""What every command shares: the console, option types with their choices, and the turning of
bad input into one line and exit status 2."""

from __future__ import annotations

import threading
from collections.abc import Iterator
from contextlib import contextmanager
from enum import StrEnum
from typing import Any, NoReturn

import typer
import yaml
from rich.console import Console
from rich.progress import (
    BarColumn,
    MofNCompleteColumn,
    Progress,
    ProgressColumn,
    Task,
    TextColumn,
    TimeElapsedColumn,
)
from rich.table import Table
from rich.text import Text

from gentax.augment import AugmentConfig
from gentax.envs import DomainSpec, get_domain
from gentax.rollout.sampling import Throughput

console = Console()
errors = Console(stderr=True)


class Split(StrEnum):
    train = "train"
    eval = "eval"


class Backend(StrEnum):
    transformers = "transformers"
    vllm = "vllm"


class DType(StrEnum):
    auto = "auto"
    float32 = "float32"
    bfloat16 = "bfloat16"
    float16 = "float16"


class PoolKind(StrEnum):
    inprocess = "inprocess"
    process = "process"
    ray = "ray"


class AugmentKind(StrEnum):
    domain = "domain"
    cross = "cross"


class PromptStyle(StrEnum):
    paper = "paper"
    compact = "compact"


def fail(message: str) -> NoReturn:
    """Bad input: one line on stderr, exit status 2."""
    errors.print(f"[red]error:[/red] {message}", highlight=False, soft_wrap=True)
    raise typer.Exit(2)


# Where envs run (rollout / eval): in this process, local worker processes, or Ray actors.
ENV_POOL = typer.Option(PoolKind.inprocess, "--env-pool",
                        help="Where the envs run: here, worker processes or Ray.")
ENV_WORKERS = typer.Option(2, "--env-workers", min=1, help="--env-pool process/ray: number of workers.")
RAY_ADDRESS = typer.Option("", "--ray-address", help="--env-pool ray: '' = local Ray, 'auto' = cluster.")
# Augmentation flags shared by play / rollout / profile / eval.
AUGMENT = typer.Option(0.0, "--augment", min=0.0, help="Distractor volume eps (0 = off; meaning per domain).")
AUGMENT_PROB = typer.Option(1.0, "--augment-prob", min=0.0, max=1.0,
                            help="Probability that a trajectory is augmented.")
AUGMENT_KIND = typer.Option(AugmentKind.domain, "--augment-kind",
                            help="The domain's own distractors, or another domain's state.")
PROMPT_STYLE = typer.Option(PromptStyle.paper, "--prompt-style",
                            help="paper (the paper's per-domain prompts) or compact (one generic template).")
ENV_ARG = typer.Option([], "--env-arg", help="Domain option KEY=VALUE, e.g. rows=5 (repeatable).")


def env_pool(kind: PoolKind, workers: int, ray_address: str):
    """The env pool for --env-pool (a missing Ray is one clear line, exit 2)."""
    from gentax.rollout.pool import make_pool

    try:
        return make_pool(kind.value, workers, ray_address or None)
    except (ValueError, RuntimeError) as e:
        fail(str(e))


def env_kwargs(items: list[str]) -> dict:
    """`--env-arg KEY=VALUE` pairs -> the env's keyword arguments (values read as YAML)."""
    kwargs = {}
    for item in items:
        key, sep, raw = item.partition("=")
        if not sep or not key.strip():
            fail(f"--env-arg {item!r}: expected KEY=VALUE, e.g. rows=5")
        try:
            kwargs[key.strip()] = yaml.safe_load(raw)
        except yaml.YAMLError:
            fail(f"--env-arg {item!r}: the value is not valid YAML")
    return kwargs


def augment_config(eps: float, prob: float, kind: AugmentKind, seed: int = 0) -> AugmentConfig | None:
    return None if eps == 0 else AugmentConfig(eps=eps, prob=prob, kind=kind.value, seed=seed)


def ready_domain(name: str) -> DomainSpec:
    """The registry entry of a domain whose engine runs here; else one line, exit 2."""
    try:
        spec = get_domain(name)
    except KeyError as e:
        fail(str(e.args[0]))
    problems = spec.problems()
    if problems:
        fail(f"{spec.name} cannot run on this machine: " + "; ".join(problems))
    return spec


def load_generator(model: str, backend: Backend, dtype: DType, batch_size: int):
    """The generation backend for `--model` (a model that cannot load is one line, exit 2)."""
    from gentax.agents.models import DEFAULT_MODEL, default_weights_dir, load_model
    from gentax.rollout.generation import make_generator

    try:
        if backend is Backend.vllm:
            return make_generator("vllm", str(default_weights_dir()) if model == DEFAULT_MODEL else model)
        with console.status(f"loading model {model} ..."):
            return make_generator(backend.value, load_model(model, dtype=dtype.value), batch_size=batch_size)
    except (RuntimeError, ValueError, OSError) as e:
        fail(str(e))


PROGRESS_LINE_EVERY_S = 60.0  # without a terminal: one progress line on stderr this often


class _ThroughputColumn(ProgressColumn):
    def __init__(self, throughput: Throughput):
        super().__init__()
        self.throughput = throughput

    def render(self, task: Task) -> Text:
        return Text("" if task.finished else self.throughput.text())


@contextmanager
def progress(disable: bool, generator: Any = None) -> Iterator[Progress]:
    """Progress bars of episodes done and, with a model's generator, new tokens and tokens/s. On a
    terminal they redraw in place; otherwise (output to a file or pipe) a plain line per unfinished
    bar goes to stderr every PROGRESS_LINE_EVERY_S seconds, so a long run is never silent."""
    throughput = Throughput(generator) if generator is not None else None
    columns = [TextColumn("{task.description}"), BarColumn(), MofNCompleteColumn(), TimeElapsedColumn()]
    if throughput:
        columns.append(_ThroughputColumn(throughput))
    with Progress(*columns, console=console, transient=True, disable=disable) as bars:
        if disable or console.is_terminal:
            yield bars
            return
        stop = threading.Event()
        reporter = threading.Thread(target=_progress_lines, args=(bars, throughput, stop), daemon=True)
        reporter.start()
        try:
            yield bars
        finally:
            stop.set()
            reporter.join()


def _progress_lines(bars: Progress, throughput: Throughput | None, stop: threading.Event) -> None:
    while not stop.wait(PROGRESS_LINE_EVERY_S):
        for task in bars.tasks:
            if not task.finished:
                line = (f"{task.description}: {task.completed:g}/{task.total:g} episodes, "
                        f"{task.elapsed or 0:.0f} s")
                tokens = f", {throughput.text()}" if throughput else ""
                errors.print(line + tokens, highlight=False, soft_wrap=True)


def print_metrics(title: str, summary: dict) -> None:
    table = Table(title=title)
    table.add_column("metric")
    table.add_column("value", justify="right")
    for key, value in summary.items():
        table.add_row(key, f"{value:.3f}" if isinstance(value, float) else str(value))
    console.print(table)
