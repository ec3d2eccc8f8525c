"""The shared error hierarchy and the write-then-rename helper."""

import pytest

from personax import errors
from personax.utils import atomic_path


def test_error_classes_keep_builtin_bases_and_codes():
    assert issubclass(errors.DataError, ValueError)
    assert issubclass(errors.InputOutputError, OSError)
    assert errors.UsageError("x").exit_code == 2
    assert errors.DataError("x").exit_code == 1
    e = errors.DataError("column 'height_cm' row 3: 'tall' is not a number", hint="use centimetres")
    assert "fix: use centimetres" in str(e) and "height_cm" in str(e)


def test_atomic_path_replaces_only_on_success(tmp_path):
    target = tmp_path / "out.txt"
    target.write_text("good")
    with pytest.raises(RuntimeError):
        with atomic_path(target) as tmp:
            tmp.write_text("half")
            raise RuntimeError("boom")
    assert target.read_text() == "good"
    assert not list(tmp_path.glob(".out.txt.tmp-*"))
    with atomic_path(target) as tmp:
        tmp.write_text("new")
    assert target.read_text() == "new"
