"""Median-after-dropping-zeros: hand-worked cases and the agreement report."""

import numpy as np
import pandas as pd
import pytest

from personax.data.aggregate import aggregate_frame, agreement_with_released, median_drop_zeros


@pytest.mark.parametrize("row, expected", [
    ([1, 2, 3], 2.0),          # three scores: the middle one
    ([3, 3, 1], 3.0),          # majority wins when two agree
    ([0, 2, 3], 2.5),          # one abstention: midpoint of the two left
    ([0, 1, 3], 2.0),
    ([0, 0, 2], 2.0),          # one score left: that score
    ([0, 0, 0], np.nan),       # nothing left: missing, never 0
    ([np.nan, 1, 0], 1.0),     # NaN is dropped like 0
    ([np.nan, np.nan, np.nan], np.nan),
])
def test_hand_worked_rows(row, expected):
    out = median_drop_zeros([row])
    assert out.shape == (1,)
    if np.isnan(expected):
        assert np.isnan(out[0])
    else:
        assert out[0] == expected


def test_frame_input_keeps_index_and_handles_pandas_na():
    df = pd.DataFrame({"a": pd.array([0, 1, None], dtype="Int64"), "b": pd.array([0, 3, 2], dtype="Int64"),
                       "c": pd.array([0, 3, 0], dtype="Int64")}, index=[10, 11, 12])
    out = median_drop_zeros(df)
    assert isinstance(out, pd.Series) and list(out.index) == [10, 11, 12]
    assert np.isnan(out[10]) and out[11] == 3.0 and out[12] == 2.0


def test_negative_scores_are_rejected():
    with pytest.raises(ValueError, match="non-negative"):
        median_drop_zeros([[1, -1, 2]])


def test_values_are_in_the_half_point_lattice():
    rng = np.random.default_rng(0)
    out = median_drop_zeros(rng.integers(0, 4, size=(500, 3)))
    finite = out[np.isfinite(out)]
    assert set(np.unique(finite * 2).astype(int)) <= {2, 3, 4, 5, 6}


def test_aggregate_frame_names_missing_columns():
    with pytest.raises(KeyError, match="chatgpt_openness"):
        aggregate_frame(pd.DataFrame({"x": [1]}))


def test_agreement_report():
    computed = np.array([1.0, 2.0, np.nan, 2.5, 3.0])
    released = np.array([1.0, 2.0, np.nan, 2.0, np.nan])
    rep = agreement_with_released(computed, released)
    assert rep["n"] == 5 and rep["matches"] == 3 and rep["match_rate"] == pytest.approx(0.6)
    assert rep["both_missing"] == 1 and rep["only_released_missing"] == 1
    assert rep["mismatch_examples"][0] == (3, 2.5, 2.0)
    with pytest.raises(ValueError, match="differ in size"):
        agreement_with_released([1.0], [1.0, 2.0])
