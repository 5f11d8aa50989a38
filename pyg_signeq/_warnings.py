"""Once-only warnings shared by the package."""

from __future__ import annotations

import warnings

_seen: set[str] = set()


def warn_once(key: str, message: str, stacklevel: int = 3) -> None:
    """Emit ``message`` as a :class:`UserWarning` the first time ``key`` comes.

    Per-graph problems (padding, repeated eigenvalues) would otherwise repeat
    for every graph of a dataset. Call :func:`reset_warnings` to hear them
    again.
    """
    if key in _seen:
        return
    _seen.add(key)
    warnings.warn(message, UserWarning, stacklevel=stacklevel)


def reset_warnings() -> None:
    """Forget which once-only warnings were already emitted."""
    _seen.clear()
