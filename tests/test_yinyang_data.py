"""The Yin-Yang generator reproduces the published splits (lkriener/yin_yang_data_set
publication_data; the values in ../shared/yinyang/reference_values.json were read from those files)."""

import json

import numpy as np
import pytest

import nirjax
from conftest import SHARED


@pytest.fixture(scope="module")
def reference():
    path = SHARED / "yinyang" / "reference_values.json"
    if not path.exists():
        pytest.fail(f"the shared Yin-Yang reference values are missing at {path}")
    return json.loads(path.read_text())


@pytest.mark.parametrize("split", ["train", "test"])
def test_published_split(reference, split):
    ref = reference[split]
    x, y = nirjax.training.yinyang(split)
    assert x.shape == (ref["size"], 4) and y.shape == (ref["size"],)
    assert np.bincount(y, minlength=3).tolist() == ref["class_counts"]
    # bit for bit: the same draws from numpy's RandomState in the same order
    np.testing.assert_array_equal(x[:5], np.array(ref["first5_features"]))
    assert y[:5].tolist() == ref["first5_labels"]
    np.testing.assert_array_equal(x[-1], np.array(ref["last_features"]))
    assert int(y[-1]) == ref["last_label"]
    same = nirjax.training.yinyang(size=ref["size"], seed=ref["seed"])
    np.testing.assert_array_equal(same[0], x)


def test_features_and_classes_follow_the_formula():
    x, y = nirjax.training.yinyang(size=300, seed=3)
    np.testing.assert_array_equal(x[:, 2:], 1.0 - x[:, :2])
    r = np.sqrt((x[:, 0] - 0.5) ** 2 + (x[:, 1] - 0.5) ** 2)
    assert np.all(r <= 0.5)
    d_left = np.sqrt((x[:, 0] - 0.25) ** 2 + (x[:, 1] - 0.5) ** 2)
    d_right = np.sqrt((x[:, 0] - 0.75) ** 2 + (x[:, 1] - 0.5) ** 2)
    dots = (d_left < 0.1) | (d_right < 0.1)
    np.testing.assert_array_equal(y == 2, dots)


def test_bad_arguments_are_named():
    with pytest.raises(ValueError, match="Unknown Yin-Yang split 'val'"):
        nirjax.training.yinyang("val")
    with pytest.raises(ValueError, match="size= and seed="):
        nirjax.training.yinyang()
