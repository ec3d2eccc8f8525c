"""Executing notebooks with papermill: one (:func:`run_notebook`), all (:func:`run_all`), timings."""

from __future__ import annotations

import contextlib
import datetime as _dt
import json
import logging
import os
import tempfile
import time
import warnings
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Iterator, Mapping, Sequence

from personax import provenance as _provenance
from personax.runner import reuse as _reuse
from personax.runner.base import (
    DEFAULT_CELL_TIMEOUT,
    KERNEL,
    PROFILES,
    RunnerError,
    RunnerUsageError,
    RunResult,
    executed_dir,
    find_notebook,
    list_notebooks,
    notebooks_dir,
)
from personax.runner.params import (
    _absolutise_source,
    check_parameters,
    declared_parameters,
    load_source,
    split_overrides,
)
from personax.runner.plumbing import tag_plumbing
from personax.utils import saved_environ

# --------------------------------------------------------------------------- execution

class _PapermillInferenceFilter(logging.Filter):
    """Drop papermill's own parameter-inference chatter.

    papermill re-parses the parameters cell with a regex that trips over comments holding
    an ``=`` ("Unable to parse line ...") and then reports such parameters as unknown. The
    runner decides what to inject with an AST parse of the cell (:func:`declared_parameters`)
    and rejects or reports undeclared overrides itself, so these two messages are noise.
    """

    def filter(self, record: logging.LogRecord) -> bool:
        message = record.getMessage()
        return not (message.startswith("Unable to parse line") or message.startswith("Passed unknown parameter"))


@contextlib.contextmanager
def _quiet_papermill_inference() -> Iterator[None]:
    filt = _PapermillInferenceFilter()
    loggers = [logging.getLogger(name) for name in ("papermill", "papermill.translators", "papermill.parameterize")]
    for log in loggers:
        log.addFilter(filt)
    try:
        yield
    finally:
        for log in loggers:
            log.removeFilter(filt)


@contextlib.contextmanager
def _kernel_environment(provenance_file: Path, figures_file: Path | None = None) -> Iterator[None]:
    """Environment inherited by the kernel: provenance target, figure audit, no Agg backend, quiet bars."""
    from personax.utils import QUIET_ENV

    with saved_environ(_provenance.PROVENANCE_ENV, "MPLBACKEND", "PERSONAX_QUIET", "PERSONAX_FIGURES_FILE",
                       *QUIET_ENV):
        os.environ[_provenance.PROVENANCE_ENV] = str(provenance_file)
        if figures_file is not None:
            os.environ["PERSONAX_FIGURES_FILE"] = str(figures_file)
        # progress bars would end up as stderr noise in the rendered page; keep an explicit setting
        os.environ.setdefault("PERSONAX_QUIET", "1")
        for key, value in QUIET_ENV.items():  # third-party bars (tqdm, huggingface_hub, transformers)
            os.environ.setdefault(key, value)
        if (os.environ.get("MPLBACKEND") or "").lower() == "agg":
            # MPLBACKEND=Agg makes every figure vanish from executed notebooks.
            warnings.warn("MPLBACKEND=Agg is set; unsetting it for the notebook kernel so figures are kept",
                          stacklevel=3)
            del os.environ["MPLBACKEND"]
        yield


def _error_summary(exc: BaseException) -> str:
    ename = getattr(exc, "ename", type(exc).__name__)
    evalue = getattr(exc, "evalue", str(exc))
    cell = getattr(exc, "exec_count", None)
    where = f" in cell [{cell}]" if cell is not None else ""
    return f"{ename}{where}: {evalue}".strip()




# --------------------------------------------------------------------------- execution

def failed_paths(out: Path, name: str) -> tuple[Path, Path]:
    """Where a failed run is kept: ``<out>/<name>.failed.ipynb`` and ``<name>.failed.provenance.json``."""
    return out / f"{name}.failed.ipynb", out / f"{name}.failed.provenance.json"


def run_notebook(notebook: str | os.PathLike, parameters: Mapping[str, Any] | None = None, *,
                 out_dir: str | os.PathLike | None = None, root: Path | None = None, strict: bool = True,
                 timeout: int | None = DEFAULT_CELL_TIMEOUT, progress_bar: bool = False,
                 log_output: bool = False, check: bool = True, reuse: bool = False) -> RunResult:
    """Execute one notebook from its jupytext source into ``out_dir`` with papermill.

    The notebook is executed into a temporary file beside the output.  Only a run in
    which every cell succeeded replaces ``<out>/<name>.ipynb`` and its
    ``<name>.provenance.json`` (and removes a stale ``<name>.failed.ipynb``); a failed run
    is kept as ``<name>.failed.ipynb`` + ``<name>.failed.provenance.json`` and an earlier
    good result is left untouched.

    Parameters
    ----------
    notebook : str or path
        ``"01_data"``, ``"01"`` or a path to a ``.py``/``.ipynb`` notebook.
    parameters : mapping, optional
        Overrides for the parameters cell (already parsed values).
    out_dir : path, optional
        Where the executed ``.ipynb`` and ``.provenance.json`` go (default ``book/executed``).
        Refuses the folder of the source notebook, so a paired ``.ipynb`` is never overwritten.
    root : path, optional
        Book checkout (default: found from the package or the working directory).
    strict : bool
        Raise on overrides the notebook does not declare (default); otherwise skip them
        and report them in :attr:`RunResult.skipped`.
    timeout : int or None
        Per-cell time limit in seconds (None: no limit).
    progress_bar, log_output : bool
        Passed to papermill.
    check : bool
        Validate the parameters with the notebook's own ``setup(...)`` checks before
        starting a kernel (:func:`check_parameters`; default).
    reuse : bool
        Keep an earlier good result whose inputs (source, parameters, package, data,
        committed results, environment) are unchanged instead of executing again
        (:mod:`personax.runner.reuse`; default False: always execute).

    Returns
    -------
    RunResult
        ``ok`` is False when a cell raised; ``output``/``provenance_path`` are then the
        ``.failed`` files (with the traceback) and ``previous`` the untouched earlier result.

    Raises
    ------
    RunnerUsageError
        Unknown notebook, undeclared override under ``strict``, an invalid parameter value
        (nothing is executed or written), or an output folder that would overwrite the
        paired notebook.
    RunnerError
        A malformed notebook (no or several parameters cells).
    """
    source = find_notebook(notebook, root)
    name = source.stem
    out = _output_folder(source, out_dir, root)
    output = out / f"{name}.ipynb"
    sidecar = out / f"{name}.provenance.json"
    failed_nb, failed_sidecar = failed_paths(out, name)

    nb = load_source(source)
    declared = declared_parameters(nb, source)
    used, skipped = _checked_overrides(nb, source, name, parameters, declared, strict=strict, check=check,
                                       output=output)
    try:
        out.mkdir(parents=True, exist_ok=True)
    except OSError as exc:
        raise RunnerUsageError(f"cannot create the output folder {out}: {exc.strerror or exc}") from exc
    key = _reuse.execution_key(source, used, root)
    if reuse and _reuse.reusable(output, sidecar, key):
        return RunResult(name=name, source=source, output=output, provenance_path=sidecar, parameters=used,
                         skipped=skipped, reused=True)
    nb.metadata.setdefault("kernelspec", {"name": KERNEL, "display_name": "Python 3", "language": "python"})
    nb.metadata["kernelspec"]["name"] = KERNEL

    started = _dt.datetime.now(_dt.timezone.utc)
    tmp_output = out / f".{name}.ipynb.tmp-{os.getpid()}.ipynb"  # renamed onto its final name at the end
    try:
        run = _execute(nb, source, name, tmp_output, used, declared, timeout=timeout, progress_bar=progress_bar,
                       log_output=log_output)
        error = run.error
        final_nb, final_sidecar = (output, sidecar) if error is None else (failed_nb, failed_sidecar)
        record = _runner_record(run, source=source, final_nb=final_nb, used=used, skipped=skipped,
                                started=started, key=key)
        _write_outputs(run, record, tmp_output, final_nb, final_sidecar)
        if error is None:
            # a stale failure from an earlier run would contradict the good result
            failed_nb.unlink(missing_ok=True)
            failed_sidecar.unlink(missing_ok=True)
    finally:
        tmp_output.unlink(missing_ok=True)
    previous = output if error is not None and output.exists() else None
    return RunResult(name=name, source=source, output=final_nb, provenance_path=final_sidecar, parameters=used,
                     skipped=skipped, ok=error is None, error=error, wall_s=run.wall, error_type=run.error_type,
                     previous=previous)


def _output_folder(source: Path, out_dir, root: Path | None) -> Path:
    """The resolved output folder; refuses the source folder (it holds the paired ``.ipynb``) and a file."""
    out = Path(out_dir) if out_dir is not None else executed_dir(root)
    out = out.resolve()
    if out == source.parent.resolve():
        raise RunnerUsageError(
            f"refusing to write executed notebooks into {out}, the folder of the source notebooks "
            "(papermill output would overwrite the paired .ipynb); use book/executed or another folder"
        )
    if out.exists() and not out.is_dir():
        raise RunnerUsageError(f"output folder {out} is a file, not a folder: pass --out DIR (a folder)")
    return out


def _checked_overrides(nb, source: Path, name: str, parameters: Mapping[str, Any] | None, declared: dict, *,
                       strict: bool, check: bool, output: Path) -> tuple[dict, dict]:
    """The overrides to inject and those skipped, after renames and the notebook's own checks."""
    from personax import notebook as _nb

    try:
        renamed = _nb.rename_parameters(name, dict(parameters or {}))  # deprecated names, with a warning
    except _nb.ParameterError as exc:
        raise RunnerUsageError(f"{name}: {exc.args[0]}, nothing was executed") from exc
    overrides = _absolutise_source(renamed)
    used, skipped = split_overrides(overrides, declared)
    if skipped and strict:
        raise RunnerUsageError(
            f"{name} does not declare parameter(s) {sorted(skipped)}; its parameters cell declares "
            f"{sorted(declared)}. Check the spelling (personax run {name} -p NAME VALUE)."
        )
    if check:
        try:
            check_parameters(nb, source, used)
        except _nb.ParameterError as exc:
            kept = f"; {output} is unchanged" if output.exists() else ""
            raise RunnerUsageError(f"{name}: {exc.args[0] if exc.args else exc}",
                                   hint=f"change the -p value (personax run {name} -p NAME VALUE); nothing was "
                                        f"executed{kept}") from exc
    return used, skipped


@dataclass
class _Execution:
    """What one papermill execution left: the error (None when every cell ran), timing, records."""

    error: str | None
    error_type: str | None
    wall: float
    figures: list | None
    record: dict
    from_kernel: bool


#: Set in the worker processes of a parallel run (:func:`run_all` with ``jobs > 1``): their kernels
#: talk over IPC sockets in the run's own temporary folder, so kernels started at the same moment
#: by different workers cannot pick the same TCP port (jupyter_client's port choice is racy).
KERNEL_IPC_ENV = "PERSONAX_KERNEL_IPC"


def _kernel_manager(folder: str) -> dict:
    """papermill keyword arguments for the kernel: IPC sockets under ``folder`` in parallel workers."""
    if os.environ.get(KERNEL_IPC_ENV) != "1":
        return {}
    from jupyter_client.manager import AsyncKernelManager
    from traitlets import default

    class _IPCKernelManager(AsyncKernelManager):
        @default("transport")
        def _transport_default(self):
            return "ipc"

        @default("ip")
        def _ip_default(self):
            return os.path.join(folder, "kernel")

    return {"kernel_manager_class": _IPCKernelManager}


def _parallel_worker() -> None:
    os.environ[KERNEL_IPC_ENV] = "1"


def _execute(nb, source: Path, name: str, tmp_output: Path, used: dict, declared: dict, *, timeout, progress_bar,
             log_output) -> _Execution:
    """Run papermill into ``tmp_output``; collect the kernel's provenance record and figure audit."""
    import papermill

    t0 = time.perf_counter()
    error: str | None = None
    error_type: str | None = None
    with tempfile.TemporaryDirectory(prefix="personax-run-") as tmp:
        kernel_record_path = Path(tmp) / "provenance.json"
        figures_path = Path(tmp) / "figures.jsonl"
        with _kernel_environment(kernel_record_path, figures_path), _quiet_papermill_inference():
            try:
                papermill.execute_notebook(
                    nb, str(tmp_output), parameters=used, kernel_name=KERNEL, language="python",
                    cwd=str(source.parent), progress_bar=progress_bar, log_output=log_output,
                    execution_timeout=timeout, request_save_on_cell_execute=True, **_kernel_manager(tmp),
                )
            except papermill.PapermillExecutionError as exc:
                error, error_type = _error_summary(exc), getattr(exc, "ename", None)
            except Exception as exc:  # kernel death, timeout, ...: still record provenance
                error, error_type = _error_summary(exc), type(exc).__name__
        wall = time.perf_counter() - t0
        figures = ([json.loads(line) for line in figures_path.read_text(encoding="utf-8").splitlines() if line]
                   if figures_path.exists() else None)
        if kernel_record_path.exists():
            record = json.loads(kernel_record_path.read_text(encoding="utf-8"))
            from_kernel = True
        else:
            record = _provenance.collect({**{k: v for k, v in declared.items()}, **used}, notebook=name)
            from_kernel = False
    return _Execution(error=error, error_type=error_type, wall=wall, figures=figures, record=record,
                      from_kernel=from_kernel)


def _runner_record(run: _Execution, *, source: Path, final_nb: Path, used: dict, skipped: dict,
                   started: _dt.datetime, key: str) -> dict:
    """The provenance record with the runner's part (secrets redacted, even in the injected parameters)."""
    record = run.record
    record["runner"] = _provenance.jsonable({
        "source": str(source),
        "source_sha256": _reuse.file_sha256(source),
        "output": str(final_nb),
        "kernel": KERNEL,
        "parameters_injected": used,
        "overrides_skipped": sorted(skipped),
        "recorded_by": "notebook.setup (kernel)" if run.from_kernel else "runner (notebook did not call setup)",
        "started_utc": started.isoformat(timespec="seconds"),
        "wall_s": round(run.wall, 2),
        "status": "ok" if run.error is None else "failed",
        "error": run.error,
        "execution_key": key,
    })
    # secrets never reach the record, even through the injected parameters
    record["runner"]["parameters_injected"], dropped = _provenance.redact(used)
    record["redacted"] = sorted(set(record.get("redacted", [])) | set(dropped))
    return record


def _write_outputs(run: _Execution, record: dict, tmp_output: Path, final_nb: Path, final_sidecar: Path) -> None:
    """Tag and annotate the executed copy, write the sidecar, then rename the copy onto its final name."""
    import nbformat

    if tmp_output.exists():
        executed = nbformat.read(str(tmp_output), as_version=4)
        tag_plumbing(executed)  # imports, setup and parameter cells out of the reader's way
        executed.metadata.setdefault("personax", {})["provenance"] = _provenance.jsonable(record)
        if run.figures is not None:  # measured by personax.plots.layout.audit_displayed_figures
            executed.metadata["personax"]["figures"] = run.figures
        nbformat.write(executed, str(tmp_output))
    elif run.error is None:
        raise RunnerError(f"papermill reported success but wrote no notebook at {tmp_output}")
    _provenance.write(record, final_sidecar)  # atomic (write then rename)
    if tmp_output.exists():
        os.replace(tmp_output, final_nb)


def run_all(parameters: Mapping[str, Any] | None = None, *, profile: str | None = None,
            notebooks: Sequence[str | os.PathLike] | None = None, out_dir: str | os.PathLike | None = None,
            root: Path | None = None, timeout: int | None = DEFAULT_CELL_TIMEOUT, stop_on_error: bool = False,
            echo: bool = True, jobs: int = 1, reuse: bool = False) -> list[RunResult]:
    """Execute every notebook (``notebooks/NN_*.py`` in order) with shared overrides.

    Parameters
    ----------
    parameters : mapping, optional
        Overrides; each goes to the notebooks that declare it (see module docstring).
    profile : {"ci", "quick", "paper"}, optional
        Shortcut for ``parameters["profile"]``.
    notebooks : sequence, optional
        Subset to run (names or paths); default all.
    out_dir, root, timeout
        As in :func:`run_notebook`.
    stop_on_error : bool
        Stop at the first failing notebook (default: run them all, report at the end).
    echo : bool
        Print one status line per notebook.
    jobs : int
        Notebooks executed at once, each in its own worker process (its own environment,
        provenance file and kernel); results come back in notebook order.  ``stop_on_error``
        needs ``jobs=1``.
    reuse : bool
        Keep the good results of notebooks whose inputs are unchanged (see :func:`run_notebook`).

    Returns
    -------
    list of RunResult

    Raises
    ------
    RunnerError
        No notebooks, an unknown profile, or an override that no notebook declares.
    """
    params = dict(parameters or {})
    if profile is not None:
        if profile not in PROFILES:
            raise RunnerUsageError(f"profile {profile!r} is invalid: allowed {list(PROFILES)}")
        params["profile"] = profile
    sources = [find_notebook(n, root) for n in notebooks] if notebooks else list_notebooks(root)
    if not sources:
        raise RunnerError(f"no notebooks found in {notebooks_dir(root)} (expected NN_name.py files)")
    loaded = {s: load_source(s) for s in sources}
    declared_by = {s: declared_parameters(nb, s) for s, nb in loaded.items()}
    from personax import notebook as _nb

    try:  # a renamed parameter (``backend``) goes to the notebooks whose new name accepts its value
        _nb.route_renamed(params, [s.stem for s in sources])
        per_notebook = {s: _nb.rename_parameters(s.stem, params, route=True) for s in sources}
    except _nb.ParameterError as exc:
        raise RunnerUsageError(f"{exc.args[0]}; nothing was executed", hint=exc.hint) from exc
    unused = [k for k in params if not any(k in declared_by[s] or k not in per_notebook[s] for s in sources)]
    if unused:
        known = sorted(set().union(*declared_by.values()))
        raise RunnerUsageError(f"no notebook declares parameter(s) {unused}; declared parameters are {known}")
    # every notebook's parameters are checked before the first one runs: a bad value
    # stops the whole run at once, with nothing executed or written
    bad = []
    for source, nb in loaded.items():
        used, _ = split_overrides(_absolutise_source(per_notebook[source]), declared_by[source])
        try:
            check_parameters(nb, source, used)
        except _nb.ParameterError as exc:
            bad.append(f"{source.stem}: {exc.args[0] if exc.args else exc}")
    if bad:
        raise RunnerUsageError("invalid parameter(s), nothing was executed:\n  " + "\n  ".join(bad),
                               hint="change or drop the -p value(s) above; each notebook's parameters cell "
                                    "lists its defaults")
    if jobs < 1:
        raise RunnerUsageError(f"jobs={jobs}: give 1 or more")
    if jobs > 1 and stop_on_error:
        raise RunnerUsageError("stop_on_error needs jobs=1 (notebooks running at once cannot stop each other)")
    kwargs = {"out_dir": out_dir, "root": root, "strict": False, "timeout": timeout, "check": False, "reuse": reuse}
    if jobs == 1:
        results = []
        for source in sources:
            if echo:
                print(f"[personax] running {source.stem} ...", flush=True)
            results.append(_finished(run_notebook(source, per_notebook[source], **kwargs), echo))
            if not results[-1].ok and stop_on_error:
                break
        return results
    return _run_parallel(sources, per_notebook, kwargs, jobs, echo)


def _finished(result: RunResult, echo: bool) -> RunResult:
    """Record one notebook's timing (not for a reused result) and print its status line."""
    if not result.reused:
        _append_timing(result.name, result)
    if echo:
        status = result.status if result.ok else f"FAILED: {result.error}"
        skipped = f" (not declared, skipped: {sorted(result.skipped)})" if result.skipped else ""
        print(f"[personax] {result.name}: {status} in {result.wall_s:.1f} s -> {result.output}{skipped}", flush=True)
    return result


def _run_parallel(sources: list[Path], per_notebook: dict, kwargs: dict, jobs: int, echo: bool) -> list[RunResult]:
    """Execute notebooks in ``jobs`` worker processes (``run_notebook`` sets process-wide variables)."""
    import multiprocessing
    from concurrent.futures import ProcessPoolExecutor, as_completed

    done: dict[Path, RunResult] = {}
    with ProcessPoolExecutor(max_workers=jobs, mp_context=multiprocessing.get_context("spawn"),
                             initializer=_parallel_worker) as pool:
        futures = {}
        for source in sources:
            if echo:
                print(f"[personax] queued {source.stem}", flush=True)
            futures[pool.submit(run_notebook, source, per_notebook[source], **kwargs)] = source
        for future in as_completed(futures):
            done[futures[future]] = _finished(future.result(), echo)
    return [done[s] for s in sources]


#: Environment variable naming a TSV file to which :func:`run_all` appends one
#: ``notebook:<name><TAB>seconds<TAB>exit code`` line per notebook (the Makefile points it
#: at ``build/timings.tsv``, next to the stage lines of ``scripts/timed.sh``).
TIMINGS_ENV = "PERSONAX_TIMINGS"


def _append_timing(name: str, result: RunResult) -> None:
    target = os.environ.get(TIMINGS_ENV)
    if not target:
        return
    from personax.utils import atomic_path

    path = Path(target)
    before = path.read_text(encoding="utf-8") if path.exists() else ""
    with atomic_path(path) as tmp:
        tmp.write_text(before + f"notebook:{name}\t{result.wall_s:.1f}\t{result.exit_code}\n", encoding="utf-8")
