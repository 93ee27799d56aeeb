"""Bootstrap streams: one seeded, independent random stream per quantity, the percentile
interval of replicates, and the checks of the bootstrap options."""

from __future__ import annotations

import hashlib

import numpy as np
import numpy.typing as npt

MSG_N_BOOTSTRAP = "n_bootstrap must be an int >= 1, got {value!r}"
MSG_SEED = "seed must be an int >= 0, got {value!r}"


def check_bootstrap_options(n_bootstrap: object, seed: object) -> tuple[int, int]:
    """Return ``(n_bootstrap, seed)`` as ints, or raise if they are not an int >= 1 / >= 0."""
    if not _is_count(n_bootstrap) or n_bootstrap < 1:  # type: ignore[operator]
        raise ValueError(MSG_N_BOOTSTRAP.format(value=n_bootstrap))
    if not _is_count(seed) or seed < 0:  # type: ignore[operator]
        raise ValueError(MSG_SEED.format(value=seed))
    return int(n_bootstrap), int(seed)  # type: ignore[call-overload]


def _is_count(value: object) -> bool:
    return isinstance(value, int | np.integer) and not isinstance(value, bool)


def bootstrap_rng(seed: int, *keys: str) -> np.random.Generator:
    """An independent random stream per seed and key, e.g. ``(seed, dimension, group)``.

    The stream is ``SeedSequence([seed, h])`` with :math:`h` the first 8 bytes of the SHA-256
    of the keys joined by the unit separator, so a quantity's bootstrap draws depend only on
    the seed and its own key: adding or removing other groups, dimensions or metrics changes
    nothing.

    Examples
    --------
    >>> bool(bootstrap_rng(0, "race").random() == bootstrap_rng(0, "race").random())
    True
    """
    digest = hashlib.sha256("\x1f".join(keys).encode("utf-8")).digest()
    return np.random.default_rng(np.random.SeedSequence([seed, int.from_bytes(digest[:8], "big")]))


def percentile_interval(replicates: npt.ArrayLike, level: float) -> tuple[float, float]:
    """The percentile bootstrap interval: the ``(1 - level) / 2`` and ``(1 + level) / 2``
    quantiles of the replicates (numpy's default linear interpolation).

    Examples
    --------
    >>> percentile_interval([0.0, 1.0, 2.0, 3.0, 4.0], 0.5)
    (1.0, 3.0)
    """
    low, high = np.quantile(
        np.asarray(replicates, dtype=np.float64), [(1 - level) / 2, (1 + level) / 2]
    )
    return float(low), float(high)
