"""Every public name is documented in the house style (STYLE.md).

The names are those listed in ``__all__`` of each subpackage, so names
added later are checked without touching this file. Constants are skipped:
their docstrings are attribute comments that Python does not keep.
"""

import importlib
import inspect
import re
from collections.abc import Iterator

import pytest
from torch.nn import Module
from torch_geometric.transforms import BaseTransform

SUBPACKAGES = (
    "spectral",
    "transforms",
    "nn",
    "data",
    "metrics",
    "training",
    "testing",
)

# Google section headers: a capitalised word or two and a colon, alone on
# a line at the docstring's own indentation.
_SECTION = re.compile(r"^([A-Z][a-z]+(?: [a-z]+)?):\s*$")

# A symmetry stated as an equation: a function applied to an input that is
# transformed by a sign matrix S or an orthogonal matrix Q or R (possibly
# with a permutation P as well), then possibly indexed by the relabelled
# pair, then "=". Every sign-aware docstring writes it this way, e.g.
# "f(P V S) = P f(V) S", "f(P V S) = P f(V)", "g(P V S) = P g(V) S",
# "s(P Z S, P H)[pi(u), pi(w)] = s(Z, H)[u, w]" or "f(P X, P V Q) = ...".
_SYMMETRY = re.compile(
    r"\b[A-Za-z]\w*\((?=[^()]*\b[SQR]\b)[^()=]*\)(?:\[[^\]]*\])?\s*="
)

# Arguments that document themselves and need no entry under Args:.
_SELF_EXPLANATORY = {"self", "cls"}


def _public_names() -> Iterator[tuple[str, object]]:
    for subpackage in SUBPACKAGES:
        module = importlib.import_module(f"pyg_signeq.{subpackage}")
        assert hasattr(module, "__all__"), f"{module.__name__} has no __all__"
        for name in module.__all__:
            obj = getattr(module, name)
            if inspect.isclass(obj) or inspect.isfunction(obj):
                yield f"{module.__name__}.{name}", obj


def _public_methods() -> Iterator[tuple[str, object]]:
    # Public methods that a class gets from the package: its own and those
    # of package base classes (a public wrapper may inherit its forward
    # from a private base). Methods from torch or PyG are documented there.
    seen = set()
    for qualname, obj in _public_names():
        if not inspect.isclass(obj) or obj in seen:
            continue
        seen.add(obj)
        found = set()
        for klass in obj.__mro__:
            if not klass.__module__.startswith("pyg_signeq."):
                continue
            for name, member in vars(klass).items():
                if isinstance(member, (staticmethod, classmethod)):
                    member = member.__func__
                if name.startswith("_") or not inspect.isfunction(member):
                    continue
                if name not in found:
                    found.add(name)
                    yield f"{qualname}.{name}", member


PUBLIC = dict(_public_names())
METHODS = dict(_public_methods())


def sections(doc: str) -> dict[str, str]:
    """Split a cleaned docstring into its Google sections, by header."""
    found: dict[str, list[str]] = {}
    current = None
    for line in doc.splitlines():
        header = _SECTION.match(line)
        if header:
            current = found.setdefault(header.group(1), [])
        elif current is not None and line and not line[0].isspace():
            current = None
        elif current is not None:
            current.append(line)
    return {key: "\n".join(lines) for key, lines in found.items()}


def math_text(doc: str) -> str:
    """The text of every ``.. math::`` block and ``:math:`` role."""
    parts = re.findall(r":math:`([^`]*)`", doc)
    lines = doc.splitlines()
    for i, line in enumerate(lines):
        if line.strip() != ".. math::":
            continue
        indent = len(line) - len(line.lstrip())
        for body in lines[i + 1 :]:
            if body.strip() and len(body) - len(body.lstrip()) <= indent:
                break
            parts.append(body)
    return "\n".join(parts)


def documented_arguments(obj: object) -> list[str]:
    """The arguments of a function, or of a class's constructor."""
    try:
        signature = inspect.signature(obj)
    except (TypeError, ValueError):
        return []
    return [
        name
        for name, parameter in signature.parameters.items()
        if name not in _SELF_EXPLANATORY
        and parameter.kind
        not in (parameter.VAR_POSITIONAL, parameter.VAR_KEYWORD)
    ]


def is_record(obj: object) -> bool:
    """Dataclasses and named tuples document their fields as Attributes."""
    return inspect.isclass(obj) and (
        hasattr(obj, "__dataclass_fields__") or hasattr(obj, "_fields")
    )


def is_sign_aware_function(obj: object) -> bool:
    """A function of eigenvectors, not a checker of someone else's."""
    if not inspect.isfunction(obj):
        return False
    arguments = documented_arguments(obj)
    takes_eigenvectors = {"pe", "eig_vecs"} & set(arguments)
    # The checkers of pyg_signeq.testing take a function 'fn' and test
    # its symmetry; they have none of their own to state.
    return bool(takes_eigenvectors) and "fn" not in arguments


def own_doc(obj: object) -> str:
    # obj.__doc__ rather than inspect.getdoc, which would lend a class
    # without a docstring the one of its base (torch.nn.Module's).
    doc = obj.__doc__
    return inspect.cleandoc(doc) if doc else ""


def check_args(qualname: str, obj: object) -> None:
    doc = own_doc(obj)
    assert doc.strip(), f"{qualname} has no docstring"
    arguments = documented_arguments(obj)
    if not arguments:
        return
    found = sections(doc)
    header = "Args"
    if is_record(obj) and "Args" not in found:
        header = "Attributes"
    assert header in found, (
        f"{qualname} takes {arguments} but its docstring has no "
        f"'{header}:' section"
    )
    missing = [
        name
        for name in arguments
        if not re.search(rf"^\s+{re.escape(name)}\b", found[header], re.M)
    ]
    assert not missing, (
        f"{qualname}: arguments {missing} are not documented under '{header}:'"
    )


def test_the_walk_finds_the_public_api():
    # Guards the walk itself: a broken import or filter would otherwise
    # make every test below pass on nothing.
    for name in [
        "pyg_signeq.nn.SignEqNet",
        "pyg_signeq.transforms.AddLaplacianPE",
        "pyg_signeq.training.fit",
        "pyg_signeq.testing.assert_sign_equivariant",
        "pyg_signeq.spectral.laplacian_eig",
        "pyg_signeq.data.load_ogb_link",
        "pyg_signeq.metrics.roc_auc",
    ]:
        assert name in PUBLIC, name
    assert "pyg_signeq.nn.SignEqNet.forward" in METHODS
    # Inherited from a package base class, not from torch.nn.Module.
    assert "pyg_signeq.nn.PCAFrame.forward" in METHODS
    assert "pyg_signeq.nn.SignEqNet.train" not in METHODS
    assert not is_sign_aware_function(
        PUBLIC["pyg_signeq.spectral.laplacian_eig"]
    )
    assert is_sign_aware_function(
        PUBLIC["pyg_signeq.spectral.canonicalize_signs"]
    )
    assert not is_sign_aware_function(
        PUBLIC["pyg_signeq.testing.assert_sign_equivariant"]
    )


@pytest.mark.parametrize(
    "equation",
    [
        r"f(P V S) = P\, f(V)\, S.",
        r"f(P V S) = P\, f(V).",
        r"g(P V S) = P\, g(V)\, S.",
        r"s(P Z S, P H)[\pi(u), \pi(w)] = s(Z, H)[u, w].",
        r"f(P X, P V Q) = P\, f(X, V)",
        r"f(X R) = f(X) R",
        r"c(V S) = c(V)",
    ],
)
def test_symmetry_pattern_accepts_stated_equations(equation):
    assert _SYMMETRY.search(equation)


@pytest.mark.parametrize(
    "text",
    [
        r"f(V) = [W_1 v_1, \ldots, W_k v_k] \odot \mathrm{Inv}(V)",
        r"s(u, w) = \langle \mathbf{x}_u, \mathbf{x}_w \rangle",
        r"the layer is S-equivariant",
    ],
)
def test_symmetry_pattern_rejects_other_math(text):
    assert not _SYMMETRY.search(text)


def test_sections_parser_on_a_hand_made_docstring():
    doc = inspect.cleandoc(
        """Summary.

        Args:
            x (int): One.
            y (int): Two,
                continued.

        Shapes:
            - **input:** :math:`[N, k]`

        Returns:
            int: The sum.
        """
    )
    found = sections(doc)
    assert list(found) == ["Args", "Shapes", "Returns"]
    assert "continued" in found["Args"]
    assert "[N, k]" in found["Shapes"]


@pytest.mark.parametrize("qualname", sorted(PUBLIC))
def test_public_name_has_google_docstring_with_args(qualname):
    check_args(qualname, PUBLIC[qualname])


@pytest.mark.parametrize("qualname", sorted(METHODS))
def test_public_method_has_google_docstring_with_args(qualname):
    check_args(qualname, METHODS[qualname])


SIGN_AWARE = sorted(
    qualname
    for qualname, obj in PUBLIC.items()
    if (inspect.isclass(obj) and issubclass(obj, Module))
    or is_sign_aware_function(obj)
)
TRANSFORMS = sorted(
    qualname
    for qualname, obj in PUBLIC.items()
    if inspect.isclass(obj) and issubclass(obj, BaseTransform)
)


@pytest.mark.parametrize("qualname", SIGN_AWARE + TRANSFORMS)
def test_module_docstring_has_shapes(qualname):
    doc = own_doc(PUBLIC[qualname])
    assert "Shapes" in sections(doc), (
        f"{qualname} has no 'Shapes:' section (STYLE.md: one notation, "
        f"[N, k], [2, E], ...)"
    )


@pytest.mark.parametrize("qualname", SIGN_AWARE)
def test_module_docstring_states_its_symmetry(qualname):
    doc = own_doc(PUBLIC[qualname])
    assert _SYMMETRY.search(math_text(doc)), (
        f"{qualname} states no symmetry equation in its math, such as "
        f"f(P V S) = P f(V) S (sign equivariant) or f(P V S) = P f(V) "
        f"(sign invariant)"
    )
