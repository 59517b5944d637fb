"""check_number: finite, typed and in range, or a message naming the key and the range."""

import math

import numpy as np
import pytest

from painzoo.utils.numbers import check_number


@pytest.mark.parametrize(
    "value, kwargs, words",
    [
        (math.nan, {"low": 0, "low_open": True}, "lr must be a finite number > 0; received nan."),
        (math.inf, {"low": 0}, "lr must be a finite number >= 0; received inf."),
        (-math.inf, {}, "lr must be a finite number; received -inf."),
        (1.5, {"low": 0, "high": 1}, "lr must be a finite number in [0, 1]; received 1.5."),
        (1.0, {"low": 0, "high": 1, "high_open": True}, "in [0, 1); received 1."),
        (0, {"low": 1, "integer": True}, "lr must be an integer >= 1; received 0."),
        (2.5, {"low": 1, "integer": True}, "lr must be an integer >= 1; received 2.5."),
        (True, {"low": 0}, "received True"),
        ("1e-4", {"low": 0}, "YAML reads 1e-4 as a string"),
        (None, {"low": 0}, "received None"),
    ],
)
def test_bad_numbers_are_named_with_their_range(value, kwargs, words):
    with pytest.raises(ValueError) as err:
        check_number(value, "lr", **kwargs)
    assert words in str(err.value)


def test_good_numbers_come_back():
    assert check_number(np.float32(0.25), "t", low=0, high=1) == 0.25
    assert check_number(np.int64(3), "n", low=1, integer=True) == 3
    three = check_number(3.0, "n", low=1, integer=True)
    assert three == 3 and isinstance(three, int)
    assert check_number(None, "t", none=True) is None
    assert check_number(0, "t", low=0, high=1) == 0
