"""Equivariance checkers that users can run on their own PE networks."""

from pyg_signeq.testing.equivariance import (
    assert_equivariant,
    assert_permutation_equivariant,
    assert_sign_equivariant,
    assert_sign_invariant,
    default_tolerance,
)

__all__ = [
    "assert_equivariant",
    "assert_permutation_equivariant",
    "assert_sign_equivariant",
    "assert_sign_invariant",
    "default_tolerance",
]
