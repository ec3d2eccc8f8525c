"""Demo material for the face chapter: one public-domain photo and simple augmentations.

The only real person shown anywhere in the companion is the astronaut in
``skimage.data.astronaut()``: NASA photograph of astronaut Eileen Collins, in the public
domain (shipped with scikit-image).  No other photo of a real person is used.

:func:`augmentations` derives flipped, cropped, brightness-shifted and slightly rotated
versions; :func:`write_demo_batch` writes them to a folder together with a deliberately
unreadable file, an image without a face and an image with two faces, so the batch
statuses of :func:`personax.faces.extract` can be shown on real files.
"""

from __future__ import annotations

import os
from pathlib import Path

import numpy as np

__all__ = ["ASTRONAUT_CREDIT", "astronaut", "augmentations", "write_demo_batch", "preview_images"]

ASTRONAUT_CREDIT = ("NASA photograph of astronaut Eileen Collins (public domain), shipped with scikit-image "
                    "as skimage.data.astronaut()")


def astronaut() -> np.ndarray:
    """The public-domain astronaut photo as RGB ``uint8`` (512, 512, 3) (see :data:`ASTRONAUT_CREDIT`)."""
    from skimage import data

    return data.astronaut()


def _rotate(img: np.ndarray, degrees: float) -> np.ndarray:
    import cv2

    h, w = img.shape[:2]
    m = cv2.getRotationMatrix2D((w / 2, h / 2), degrees, 1.0)
    return cv2.warpAffine(img, m, (w, h), flags=cv2.INTER_LINEAR, borderMode=cv2.BORDER_CONSTANT)


def augmentations(img: np.ndarray | None = None) -> dict[str, np.ndarray]:
    """Deterministic variants of an RGB image (default: the astronaut).

    Returns
    -------
    dict of str -> numpy.ndarray
        ``original``, ``flip`` (horizontal mirror), ``crop`` (the upper-middle 320×320
        region, resized back to the input size), ``brighter`` (+40 % intensity, clipped),
        ``darker`` (−40 %), ``rotate_+10`` and ``rotate_-10`` (degrees, about the centre).
    """
    import cv2

    img = astronaut() if img is None else np.asarray(img)
    if img.ndim != 3 or img.shape[2] != 3 or img.dtype != np.uint8:
        raise ValueError(f"expected an RGB uint8 (H, W, 3) image, got {img.shape} {img.dtype}")
    h, w = img.shape[:2]
    ch, cw = int(h * 0.625), int(w * 0.625)
    top, left = 0, (w - cw) // 2
    crop = cv2.resize(img[top:top + ch, left:left + cw], (w, h), interpolation=cv2.INTER_AREA)
    scaled = lambda f: np.clip(img.astype(np.float64) * f, 0, 255).astype(np.uint8)  # noqa: E731
    return {
        "original": img.copy(),
        "flip": img[:, ::-1].copy(),
        "crop": crop,
        "brighter": scaled(1.4),
        "darker": scaled(0.6),
        "rotate_+10": _rotate(img, 10),
        "rotate_-10": _rotate(img, -10),
    }


def write_demo_batch(folder: str | os.PathLike, img: np.ndarray | None = None) -> list[Path]:
    """Write the augmentations plus three problem files to ``folder`` (sorted names).

    Files: ``01_original.png`` … (one per augmentation), ``20_two_faces.png`` (the photo
    beside its mirror image), ``21_no_face.png`` (the lower-right part of the photo: suit and
    background only), ``22_unreadable.jpg`` (bytes that are not an image).

    Returns
    -------
    list of pathlib.Path
        The files written, in sorted order (the order :func:`extract` reads a folder in).
    """
    import cv2

    folder = Path(folder)
    folder.mkdir(parents=True, exist_ok=True)
    img = astronaut() if img is None else img
    paths = []
    for i, (name, variant) in enumerate(augmentations(img).items(), start=1):
        path = folder / f"{i:02d}_{name}.png"
        cv2.imwrite(str(path), np.ascontiguousarray(variant[:, :, ::-1]))  # RGB -> BGR for OpenCV
        paths.append(path)
    two = np.concatenate([img, img[:, ::-1]], axis=1)
    cv2.imwrite(str(folder / "20_two_faces.png"), two[:, :, ::-1])
    h, w = img.shape[:2]
    cv2.imwrite(str(folder / "21_no_face.png"), np.ascontiguousarray(img[int(h * 0.55):, int(w * 0.5):, ::-1]))
    (folder / "22_unreadable.jpg").write_bytes(b"this file is not an image\n")
    paths += [folder / "20_two_faces.png", folder / "21_no_face.png", folder / "22_unreadable.jpg"]
    return sorted(paths)


def preview_images(sources: list[str], size: int = 256) -> dict[str, np.ndarray]:
    """RGB previews of ``extract``'s sources for :func:`personax.plots.faces.detection_overlay`.

    Unreadable files become a grey placeholder (so the grid keeps one panel per row); the
    previews are *not* resized, so the face boxes of ``extract`` still fit them.  ``size`` is
    the side of the placeholder.

    Returns
    -------
    dict of str -> numpy.ndarray
        File name (without folder) -> RGB ``uint8`` image, in the order of ``sources``.
    """
    from personax.faces.extraction import UnreadableImage, load_image

    out = {}
    for src in sources:
        name = Path(src).name
        try:
            out[name] = load_image(src)[:, :, ::-1].copy()
        except UnreadableImage:
            out[name] = np.full((size, size, 3), 200, np.uint8)
    return out
