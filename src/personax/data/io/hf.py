"""The Hugging Face release (``Persona-X/<dataset>``): fail within seconds, with the fix, when it cannot be reached."""

from __future__ import annotations

import os
import socket
from pathlib import Path

from personax.data.dataset import PersonaData
from personax.data.io.errors import DataAccessError
from personax.data.io.local import load_local
from personax.data.schema import HF_REPOS

_PROBE_TIMEOUT_S = 3.0

_HF_FIX = ("How to fix: (1) check the network connection (and that HF_HUB_OFFLINE is not set to 1); "
           "(2) log in with `huggingface-cli login` or export HF_TOKEN=<your token>; "
           "(3) accept the dataset terms on https://huggingface.co/datasets/{repo}; "
           "or (4) download the data elsewhere and pass source='/path/to/folder_or_file'.")


def _offline_env() -> bool:
    return str(os.environ.get("HF_HUB_OFFLINE", "")).strip().lower() in ("1", "true", "yes", "on")


def _probe(host: str, port: int = 443, timeout: float = _PROBE_TIMEOUT_S) -> str | None:
    """None if a TCP connection to host:port opens within ``timeout`` seconds, else the reason.

    The name lookup is not covered by socket timeouts (a broken resolver can block for
    tens of seconds), so the whole probe runs in a daemon thread with a hard deadline.
    """
    import threading

    result: list = []

    def attempt():
        try:
            with socket.create_connection((host, port), timeout=timeout):
                result.append(None)
        except OSError as exc:
            result.append(f"{type(exc).__name__}: {exc}")

    worker = threading.Thread(target=attempt, daemon=True, name="personax-hf-probe")
    worker.start()
    worker.join(timeout + 0.5)
    if not result:
        return f"no answer from {host}:{port} within {timeout:.0f} s (DNS or connection timeout)"
    return result[0]


def load_hf(dataset: str, revision: str | None = None, cache_dir=None, column_map: dict | None = None, *,
            strict: bool = False) -> PersonaData:
    """Download (or reuse a cached) snapshot of the released dataset and load it.

    Fails fast (a 3 s TCP probe; immediately under ``HF_HUB_OFFLINE=1`` when nothing is
    cached) with :class:`DataAccessError` naming the fix.
    """
    from urllib.parse import urlparse

    repo = HF_REPOS[dataset]
    fix = _HF_FIX.format(repo=repo)
    try:
        from huggingface_hub import snapshot_download
        from huggingface_hub.errors import (
            GatedRepoError,
            HfHubHTTPError,
            LocalEntryNotFoundError,
            RepositoryNotFoundError,
            RevisionNotFoundError,
        )
    except ImportError as exc:  # pragma: no cover - pinned dependency
        raise DataAccessError(f"huggingface_hub is not installed ({exc}); pip install -r requirements.txt") from exc
    kwargs = dict(repo_id=repo, repo_type="dataset", revision=revision,
                  cache_dir=str(cache_dir) if cache_dir else None)
    local_only = _offline_env()
    reason = None
    if not local_only:
        endpoint = os.environ.get("HF_ENDPOINT", "https://huggingface.co")
        host = urlparse(endpoint).hostname or "huggingface.co"
        reason = _probe(host)
        local_only = reason is not None
    try:
        if local_only:
            folder = snapshot_download(**kwargs, local_files_only=True)
        else:
            folder = snapshot_download(**kwargs, etag_timeout=5)
    except GatedRepoError as exc:
        raise DataAccessError(f"{repo} is gated and this account has no access yet. {fix}") from exc
    except RepositoryNotFoundError as exc:
        raise DataAccessError(f"{repo} was not found or needs authentication. {fix}") from exc
    except RevisionNotFoundError as exc:
        raise DataAccessError(f"revision {revision!r} of {repo} does not exist; pass revision=None for the "
                              "latest or a valid commit/tag") from exc
    except LocalEntryNotFoundError as exc:
        why = "HF_HUB_OFFLINE=1 is set" if _offline_env() else f"huggingface.co is unreachable ({reason})"
        raise DataAccessError(f"cannot load {repo}: {why} and no cached snapshot exists"
                              f"{' in ' + str(cache_dir) if cache_dir else ''}. {fix}") from exc
    except (HfHubHTTPError, OSError) as exc:
        raise DataAccessError(f"downloading {repo} failed: {type(exc).__name__}: {exc}. {fix}") from exc
    data = load_local(folder, dataset, column_map, strict=strict)
    commit = Path(folder).name  # snapshots/<commit hash>
    data.info.update(source="hf", repo_id=repo, revision=revision or "main", commit=commit,
                     cache_dir=str(cache_dir) if cache_dir else None, offline_cache=local_only)
    return data
