"""Conditional KCI on one triple and batched over many (x, y, S) triples grouped by conditioning set."""

from __future__ import annotations

from typing import Any, Hashable, Mapping, Sequence

import numpy as np
import torch

from personax.errors import ParameterError
from personax.independence.conditional.kernels import kci_conditional_coef
from personax.independence.conditional.limits import (
    AUTO_DENSE_MAX_N,
    AUTO_DENSE_RANK_FRACTION,
    BLOCK_ELEMENTS,
    DTYPE,
    KCI_MAX_RANK,
    KCI_TOL,
    check_given_size,
)
from personax.independence.conditional.roles import (
    _check_tol,
    _DenseZ,
    _kci_result,
    _kci_stat_mean,
    _LowRankZ,
    _resolve_method,
    _Role,
    cpu_threads,
)
from personax.independence.fast import zscore
from personax.independence.prepare import DEFAULT_MIN_N, as_2d_float
from personax.independence.result import IndependenceTestError, TestResult

# --------------------------------------------------------------------------- batches

Triple = tuple[Hashable, Hashable, Sequence[Hashable]]


def _as_variables(variables: Mapping[Hashable, Any] | np.ndarray) -> dict[Hashable, np.ndarray]:
    if isinstance(variables, np.ndarray):
        if variables.ndim != 2:
            raise ParameterError(f"variables must be a 2-D array (n, p) or a mapping name -> array, "
                                 f"got shape {variables.shape}")
        return {j: variables[:, j:j + 1].astype(np.float64) for j in range(variables.shape[1])}
    if hasattr(variables, "columns") and hasattr(variables, "to_numpy"):  # DataFrame
        return {c: as_2d_float(variables[c], str(c)) for c in variables.columns}
    out = {k: as_2d_float(v, str(k)) for k, v in dict(variables).items()}
    ns = {v.shape[0] for v in out.values()}
    if len(ns) > 1:
        raise IndependenceTestError(f"variables have different numbers of rows {sorted(ns)}: pass aligned samples")
    return out


def _check_triples(triples: Sequence[Triple], names: set) -> list[tuple[Hashable, Hashable, tuple]]:
    out = []
    for t in triples:
        try:
            x, y, s = t
        except (TypeError, ValueError) as exc:
            raise ParameterError(f"triple {t!r} is not (x, y, given)", hint="e.g. ('a', 'b', ('c', 'd'))") from exc
        s = tuple(s) if isinstance(s, (list, tuple)) else ((s,) if s is not None else ())
        for v in (x, y, *s):
            if v not in names:
                raise ParameterError(f"triple {t!r} names variable {v!r}, which is not among the variables",
                                     hint=f"variables are {sorted(map(str, names))[:20]}")
        if x == y or x in s or y in s:
            raise ParameterError(f"triple {t!r}: x, y and the conditioning variables must be distinct")
        out.append((x, y, s))
    return out


def _groups_by_rows(vars_: dict, triples: list, min_n: int):
    """Group triples by their complete-row mask; yields (rows or None, [(i, triple)])."""
    finite = {k: np.isfinite(v).all(1) for k, v in vars_.items()}
    n = next(iter(vars_.values())).shape[0]
    groups: dict[bytes, tuple[np.ndarray, list]] = {}
    for i, (x, y, s) in enumerate(triples):
        mask = finite[x] & finite[y]
        for v in s:
            mask = mask & finite[v]
        key = np.packbits(mask).tobytes()
        groups.setdefault(key, (mask, []))[1].append((i, (x, y, s)))
    for mask, items in groups.values():
        yield (None if bool(mask.all()) else np.flatnonzero(mask)), items, n


def _prepared(vars_: dict, rows, keys, cache: dict):
    """z-scored (ddof=1) numpy copies of variables on the given rows, with the constant guards."""
    out = {}
    for k in keys:
        ck = (k, None if rows is None else rows.tobytes())
        if ck not in cache:
            v = vars_[k] if rows is None else vars_[k][rows]
            cache[ck] = v
        out[k] = cache[ck]
    return out


def _prepared_groups(vars_: dict, triples: list, min_n: int):
    """Triples grouped by complete rows, with their variables on those rows; yields (items, data, m, n)."""
    cache: dict = {}
    for rows, items, n_all in _groups_by_rows(vars_, triples, min_n):
        keys = {v for _, (x, y, s) in items for v in (x, y, *s)}
        data = _prepared(vars_, rows, keys, cache)
        yield items, data, (n_all if rows is None else rows.size), n_all


def _triple_problem(test: str, x, y, s, data: dict, m: int, n_all: int, min_n: int, *,
                    num_features_z: int = 100) -> Exception | None:
    """Why a triple cannot be tested on its ``m`` complete rows (rows, constants, conditioning size), or None."""
    if m < min_n:
        return IndependenceTestError(
            f"only {m} complete rows (of {n_all}) after dropping missing values; at least "
            f"min_n={min_n} are needed: use variables with fewer missing values or lower min_n")
    msg = _row_checks(x, data[x], m, given=False) or _row_checks(y, data[y], m, given=False)
    for v in s:
        msg = msg or _row_checks(v, data[v], m, given=True)
    if msg:
        return IndependenceTestError(f"{test}: {msg}")
    if s:
        try:
            check_given_size(m, sum(data[v].shape[1] for v in s), test, num_features_z=num_features_z)
        except ParameterError as exc:
            return exc
    return None


def _row_checks(name, arr, m, *, given: bool):
    if given:
        const = [j for j in range(arr.shape[1]) if np.all(arr[:, j] == arr[0, j])]
        if const:
            return (f"conditioning variable {name!r} has constant column(s) {const} on the {m} complete rows: "
                    "drop it from the conditioning set")
        return None
    if np.all(arr == arr[0]):
        return (f"{name!r} is constant on the {m} complete rows (value {arr[0].tolist()}): independence is "
                "untestable; drop this variable")
    return None


def _error_result(test: str, n: int, message: str) -> IndependenceTestError:
    return IndependenceTestError(f"{test}: {message}")


def kci_batch(variables: Mapping[Hashable, Any] | np.ndarray, triples: Sequence[Triple], *, device: str = "cpu",
              method: str = "auto", tol: float = KCI_TOL, max_rank: int = KCI_MAX_RANK,
              max_rank_given: int | None = None, min_n: int = DEFAULT_MIN_N, clean: bool = True,
              errors: str = "raise") -> list[TestResult]:
    """Conditional (and unconditional, S = ()) KCI for many (x, y, S) triples.

    Parameters
    ----------
    variables : mapping name -> array (n,) / (n, d), DataFrame, or ndarray (n, p)
        The variables; an ndarray's columns are named 0 … p − 1.  Rows are aligned; rows
        with a missing value are dropped per triple (triples with the same complete rows
        are computed together).
    triples : sequence of (x, y, S)
        S a tuple of names (its variables' columns are stacked, in order, into z).  KCI is
        not symmetric: x is the variable augmented with ½z.  ``S = ()`` gives causal-learn's
        unconditional ``KCI_UInd`` (via :func:`personax.independence.fast.kci`).
    device, method, tol, max_rank
        As :func:`kci_conditional`.
    max_rank_given : int, optional
        A larger rank cap for the kernel of the conditioning set (computed once per set and
        shared by its triples, so a higher cap is cheap); default ``max_rank``.
    min_n : int
        Smallest number of complete rows per triple.
    clean : bool
        Check rows, constants and the conditioning-set size (set False only for arrays
        already validated by :func:`clean_triple`).
    errors : {"raise", "return"}
        On a bad triple raise its error, or return the exception object in its place.

    Returns
    -------
    list
        One :class:`TestResult` per triple, in their order; with ``errors="return"`` a bad
        triple's exception stands in its place.

    Examples
    --------
    >>> import numpy as np
    >>> rng = np.random.default_rng(1)
    >>> a = rng.normal(size=400); b = a + rng.normal(size=400); c = b + rng.normal(size=400)
    >>> res = kci_batch({"a": a, "b": b, "c": c}, [("a", "c", ()), ("a", "c", ("b",))])
    >>> res[0].pvalue < 0.01, res[1].pvalue > 0.05
    (True, True)
    """
    from personax.independence import fast

    meth = _resolve_method(method)
    _check_tol(tol, max_rank)
    if errors not in ("raise", "return"):
        raise ParameterError(f"errors={errors!r}: use 'raise' or 'return'")
    vars_ = _as_variables(variables)
    trip = _check_triples(triples, set(vars_))
    results: list[Any] = [None] * len(trip)
    for items, data, m, n_all in _prepared_groups(vars_, trip, min_n):
        # per-variable guards (row count, constants), then per-triple size checks
        bad: dict[int, Exception] = {}
        for i, (x, y, s) in items:
            if clean:
                problem = _triple_problem("kci", x, y, s, data, m, n_all, min_n)
                if problem is not None:
                    bad[i] = problem
        for i, exc in bad.items():
            if errors == "raise":
                raise exc
            results[i] = exc
        todo = [(i, t) for i, t in items if i not in bad]
        # unconditional triples: the exact Level I path
        for i, (x, y, s) in todo:
            if not s:
                try:
                    results[i] = fast.kci(data[x], data[y], device=device)
                except (IndependenceTestError, FloatingPointError) as exc:
                    if errors == "raise":
                        raise IndependenceTestError(f"kci: {exc}") from exc
                    results[i] = IndependenceTestError(f"kci: {exc}")
        by_s: dict[tuple, list] = {}
        for i, (x, y, s) in todo:
            if s:
                by_s.setdefault(s, []).append((i, x, y))
        with cpu_threads(device):
            for s, group in by_s.items():
                _kci_group(data, s, group, m, meth, tol, int(max_rank), device, results, errors,
                           max_rank_given=None if max_rank_given is None else int(max_rank_given))
    return results


def _kci_group(data: dict, s: tuple, group: list, n: int, method: str, tol: float, max_rank: int, device: str,
               results: list, errors: str, max_rank_given: int | None = None) -> None:
    """All triples (x, y | S) for one conditioning set S on the same rows."""
    zs = zscore(np.hstack([data[v] for v in s]))
    dz = zs.shape[1]
    c = kci_conditional_coef(n, dz)
    Z = torch.as_tensor(zs, dtype=DTYPE, device=device)
    zpart = None
    xkeys = list(dict.fromkeys(x for _, x, _ in group))
    ykeys = list(dict.fromkeys(y for _, _, y in group))
    try:
        # a cap of half the rows or more saves nothing over the exact computation
        if max_rank >= n / 2:
            max_rank = n
        if method == "dense" or (method == "auto" and n <= AUTO_DENSE_MAX_N):
            zpart = _DenseZ(Z, c)
        else:
            zpart = _LowRankZ(Z, c, tol, max(max_rank, min(n, max_rank_given or max_rank)))
            if method == "auto" and max_rank >= n and zpart.rank > AUTO_DENSE_RANK_FRACTION * n:
                # the factors would be nearly full rank: the dense algorithm is cheaper
                zpart = _DenseZ(Z, c)
        used = "dense" if isinstance(zpart, _DenseZ) else "lowrank"
        xdata = [torch.cat([torch.as_tensor(zscore(data[k]), dtype=DTYPE, device=device), 0.5 * Z], 1)
                 for k in xkeys]
        ydata = [torch.as_tensor(zscore(data[k]), dtype=DTYPE, device=device) for k in ykeys]
        xroles = dict(zip(xkeys, _roles_by_shape(zpart, xdata, c, tol, max_rank)))
        yroles = dict(zip(ykeys, _roles_by_shape(zpart, ydata, c, tol, max_rank)))
    except (torch.linalg.LinAlgError, RuntimeError) as exc:  # pragma: no cover - numerical failure
        err = IndependenceTestError(f"kci: numerical failure for conditioning set {s!r}: {exc}")
        if errors == "raise":
            raise err from exc
        for i, _, _ in group:
            results[i] = err
        return
    capped = bool(zpart.capped or any(r.capped for r in (*xroles.values(), *yroles.values())))
    pairs = [(xkeys.index(x), ykeys.index(y)) for _, x, y in group]
    var = null_variances([xroles[k].V for k in xkeys], [yroles[k].V for k in ykeys], pairs,
                         dtype=torch.float32 if capped else DTYPE)
    stats = _stats(xkeys, ykeys, xroles, yroles, group)
    for (i, x, y), v, (stat, mean) in zip(group, var.tolist(), stats):
        try:
            results[i] = _kci_result(stat, mean, v, n, dz, used, xroles[x], yroles[y], zpart.rank, zpart.capped)
        except IndependenceTestError as exc:
            if errors == "raise":
                raise
            results[i] = exc


def _stats(xkeys, ykeys, xroles, yroles, group) -> list[tuple[float, float]]:
    """(V, Gamma mean) per triple; one matrix product per x-role against all its y's."""
    out = {}
    by_x: dict = {}
    for i, x, y in group:
        by_x.setdefault(x, []).append((i, y))
    for x, items in by_x.items():
        rx = xroles[x]
        ys = [yroles[y] for _, y in items]
        if rx.A is not None and all(r.A is not None for r in ys):
            M = rx.A.T @ torch.cat([r.A for r in ys], 1)
            widths = [r.A.shape[1] for r in ys]
            sq = [float(b.square().sum()) for b in torch.split(M, widths, 1)]
        else:
            sq = [_kci_stat_mean(rx, r)[0] for r in ys]
        for (i, _y), st, ry in zip(items, sq, ys):
            out[i] = (st, float((rx.diag * ry.diag).sum()))
    return [out[i] for i, _, _ in group]


def null_variances(vxs: Sequence[torch.Tensor], vys: Sequence[torch.Tensor], pairs: Sequence[tuple[int, int]], *,
                   dtype: torch.dtype = DTYPE) -> torch.Tensor:
    """2·tr (UUᵀ)² = 2 Σₛₜ (vₓ,ₛ·vₓ,ₜ)² (v_y,ₛ·v_y,ₜ)² for many (x, y) pairs of one conditioning set.

    ``vxs``/``vys`` hold the kept, scaled eigenvectors (n, r) of each x- and y-role; ``pairs``
    index into them.  Rows are processed in blocks on and above the diagonal (both Gram
    matrices are symmetric); in each block the squared Gram rows of every x- and y-role
    are computed once, and all x × y sums come from one matrix product of the flattened
    blocks.  Memory O(block·n·(#x + #y)); time O(n²(Σrₓ + Σr_y + #x·#y)/2).  ``dtype``
    float32 halves the time (relative error ~1e-7 on this sum of positive terms); the
    default float64 is used unless a factor was rank-capped.
    """
    dev = vxs[0].device
    n = vxs[0].shape[0]

    def stack(vs):
        r = max(1, max(v.shape[1] for v in vs))
        out = torch.zeros(len(vs), n, r, dtype=dtype, device=dev)
        for j, v in enumerate(vs):
            out[j, :, : v.shape[1]] = v
        return out

    VX, VY = stack(vxs), stack(vys)
    mx, my = VX.shape[0], VY.shape[0]
    step = max(1, min(n, BLOCK_ELEMENTS // max(1, (mx + my) * n)))
    acc = torch.zeros(mx, my, dtype=DTYPE, device=dev)
    for i0 in range(0, n, step):
        i1 = min(n, i0 + step)
        b = i1 - i0
        gx = (VX[:, i0:i1] @ VX[:, i0:].transpose(1, 2)).square_()
        gx[:, :, b:] *= 2.0                       # blocks right of the diagonal stand for two
        gy = (VY[:, i0:i1] @ VY[:, i0:].transpose(1, 2)).square_()
        acc += (gx.reshape(mx, -1) @ gy.reshape(my, -1).T).to(DTYPE)
    xi = torch.as_tensor([p[0] for p in pairs], device=dev)
    yi = torch.as_tensor([p[1] for p in pairs], device=dev)
    return 2.0 * acc[xi, yi]


def _roles_by_shape(zpart, datas: list[torch.Tensor], c: float, tol: float, max_rank: int) -> list[_Role]:
    """Roles of data sets that may differ in width (multi-column variables): batch equal shapes."""
    out: list[_Role | None] = [None] * len(datas)
    by_shape: dict[tuple, list[int]] = {}
    for i, d in enumerate(datas):
        by_shape.setdefault(tuple(d.shape), []).append(i)
    for idx in by_shape.values():
        for i, r in zip(idx, zpart.roles([datas[i] for i in idx], c, tol, max_rank)):
            out[i] = r
    return out  # type: ignore[return-value]




def kci_conditional(x: np.ndarray, y: np.ndarray, z: np.ndarray, *, device: str = "cpu", method: str = "auto",
                    tol: float = KCI_TOL, max_rank: int = KCI_MAX_RANK) -> TestResult:
    """Conditional KCI of x ⫫ y | z on cleaned arrays (:func:`clean_triple`).

    Parameters
    ----------
    x, y, z : ndarray (n, d)
        Complete rows; z is the conditioning matrix (continuous and/or discrete-coded columns).
    device : str
        torch device.
    method : {"auto", "lowrank", "dense"}
        See the module docstring (``"auto"`` = ``"lowrank"``).
    tol, max_rank : float, int
        Trace tolerance and rank cap of the low-rank factors.

    Returns
    -------
    TestResult
        ``statistic`` V, ``pvalue``; ``details`` holds the Gamma moments, the ranks of the
        factors (``rank_x``, ``rank_y``, ``rank_z``), the kept eigenvalues (``eig_x``,
        ``eig_y``) and ``rank_capped`` (True when a factor stopped at ``max_rank``).

    Examples
    --------
    >>> import numpy as np
    >>> rng = np.random.default_rng(0)
    >>> z = rng.normal(size=(300, 1))
    >>> x = np.sin(z) + 0.3 * rng.normal(size=(300, 1))
    >>> y = z ** 2 + 0.3 * rng.normal(size=(300, 1))
    >>> kci_conditional(x, y, z).pvalue > 0.05
    True
    """
    return kci_batch({"x": x, "y": y, "z": z}, [("x", "y", ("z",))], device=device, method=method, tol=tol,
                     max_rank=max_rank, clean=False)[0]
