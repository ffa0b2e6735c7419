"""Argument checks shared by mtzoo layers and builders.

Every message names the argument and shows the value received.
"""

from __future__ import annotations

import numbers


def positive_int(value, name: str) -> int:
    if (isinstance(value, bool) or not isinstance(value, numbers.Integral)
            or value <= 0):
        raise ValueError(
            f"`{name}` must be a positive integer. Received: {name}={value!r}"
        )
    return int(value)


def positive_int_list(value, name: str, allow_empty=False) -> list[int]:
    if isinstance(value, numbers.Integral) and not isinstance(value, bool):
        value = [value]
    if not isinstance(value, (list, tuple)):
        raise ValueError(
            f"`{name}` must be a list of positive integers. "
            f"Received: {name}={value!r}"
        )
    if not value and not allow_empty:
        raise ValueError(
            f"`{name}` must not be empty. Received: {name}={value!r}")
    for item in value:
        if (isinstance(item, bool) or not isinstance(item, numbers.Integral)
                or item <= 0):
            raise ValueError(
                f"`{name}` must be a list of positive integers. "
                f"Received: {name}={value!r}"
            )
    return [int(v) for v in value]


def rate(value, name: str) -> float:
    if not isinstance(value, numbers.Real) or not 0 <= value < 1:
        raise ValueError(
            f"`{name}` must be a number in [0, 1). Received: {name}={value!r}"
        )
    return float(value)


def non_negative(value, name: str) -> float:
    if not isinstance(value, numbers.Real) or value < 0:
        raise ValueError(
            f"`{name}` must be a non-negative number. "
            f"Received: {name}={value!r}"
        )
    return float(value)


def non_negative_int(value, name: str) -> int:
    if (isinstance(value, bool) or not isinstance(value, numbers.Integral)
            or value < 0):
        raise ValueError(
            f"`{name}` must be a non-negative integer. "
            f"Received: {name}={value!r}"
        )
    return int(value)
