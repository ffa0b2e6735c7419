"""The momentum of weight averaging, checked and capped: plain numbers,
so that the command line checks `--weight-averaging` without Keras."""

from __future__ import annotations


def check_momentum(momentum, where: str = "`weight_averaging`") -> float:
    """The momentum as a float, or ValueError naming `where`."""
    if (isinstance(momentum, bool)
            or not isinstance(momentum, (int, float))
            or not 0.0 <= momentum < 1.0):
        raise ValueError(f"{where} must be a momentum in [0, 1) such as "
                         f"0.99 (0: off). Received: {momentum!r}")
    return float(momentum)


def capped_momentum(requested: float, steps_per_epoch: int) -> float:
    """The momentum a run uses: `requested`, lowered when needed so the
    average spans at most two epochs of steps (about 1 / (1 - momentum)
    steps). On a few thousand rows an average at 0.995 would still be
    mostly the initial weights when training stops."""
    if not requested:
        return 0.0
    return min(requested, 1.0 - 1.0 / (2 * max(steps_per_epoch, 1)))
