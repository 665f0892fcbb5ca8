"""The documentation site's promises: every public name has a docstring the API pages render.

The API pages (``docs/api/*.md``) render with mkdocstrings, which shows only
what has a docstring. So a public class or function with none would vanish
from the reference: these tests fail first, naming it. Type aliases and
constants are skipped (a docstring on a type alias is a comment mkdocstrings
reads from the source, not an attribute Python keeps). The site itself is
built with ``mkdocs build --strict`` by ``scripts/test.sh``.
"""

from __future__ import annotations

import ast
import importlib
import inspect
import re
from pathlib import Path
from types import ModuleType

import pytest

ROOT = Path(__file__).resolve().parent.parent
DOCS = ROOT / "docs"
PUBLIC_MODULES = (
    "actorhttp",
    "actorhttp.web",
    "actorhttp.messages",
    "actorhttp.broker",
    "actorhttp.testing",
    "actorhttp.test_utils",
    "actorhttp.pytest_plugin",
    "actorhttp.sse",
    "actorhttp.abc",
    "actorhttp.typedefs",
    # Not actorhttp.aiohttp_patch: importing it changes sys.modules for the whole process
    # (tests/test_aiohttp_plugins.py imports it, in processes of their own).
)


def _own_docstring(obj: object) -> str | None:
    """The docstring ``obj`` itself has: not a base class's, nor a dataclass's made-up one."""
    if inspect.isclass(obj):
        doc = obj.__dict__.get("__doc__")
        if isinstance(doc, str) and doc.startswith(f"{obj.__name__}("):
            return None  # what @dataclass writes when the class has none
        return doc if isinstance(doc, str) else None
    doc = getattr(obj, "__doc__", None)
    return doc if isinstance(doc, str) else None


def _is_documentable(obj: object) -> bool:
    """Classes and functions (pytest fixtures included), not type aliases or constants."""
    if inspect.isclass(obj) or inspect.isfunction(obj):
        return True
    # pytest wraps a fixture in a FixtureFunctionDefinition that keeps the docstring.
    return callable(obj) and type(obj).__module__.startswith("_pytest")


def _public(module: ModuleType) -> list[tuple[str, object]]:
    names: list[str] = module.__all__
    return [(name, getattr(module, name)) for name in names]


@pytest.mark.parametrize("module_name", PUBLIC_MODULES)
def test_every_public_name_has_a_docstring(module_name: str) -> None:
    module = importlib.import_module(module_name)
    missing = [
        name
        for name, obj in _public(module)
        if _is_documentable(obj) and not (_own_docstring(obj) or "").strip()
    ]
    assert not missing, f"{module_name}.__all__ names without a docstring: {missing}"


def _member_docstring(cls: type, name: str) -> str | None:
    """The docstring of ``cls.name`` as defined on the nearest class in its MRO that has it."""
    for base in cls.__mro__:
        if name in base.__dict__:
            member = base.__dict__[name]
            if isinstance(member, property):
                member = member.fget
            member = getattr(member, "__func__", member)
            doc = getattr(member, "__doc__", None)
            if isinstance(doc, str) and doc.strip():
                return doc
    return None


@pytest.mark.parametrize("module_name", PUBLIC_MODULES)
def test_public_methods_and_properties_have_docstrings(module_name: str) -> None:
    """Each public class's own methods and properties; an override may rely on its base's."""
    module = importlib.import_module(module_name)
    missing = []
    for name, obj in _public(module):
        if not inspect.isclass(obj):
            continue
        for member_name, member in vars(obj).items():
            if member_name.startswith("_"):
                continue
            if not isinstance(member, property | staticmethod | classmethod) and not (
                inspect.isfunction(member)
            ):
                continue
            if _member_docstring(obj, member_name) is None:
                missing.append(f"{name}.{member_name}")
    assert not missing, f"{module_name}: public members without a docstring: {missing}"


def _listed_members(page: Path) -> set[str]:
    """The names a page's ``::: module`` block lists under ``options: members:``."""
    return set(re.findall(r"^\s{8}- (\w+)$", page.read_text(), re.MULTILINE))


def test_every_top_level_name_is_on_an_api_page() -> None:
    """``actorhttp``'s page lists the names ``actorhttp.web`` does not have; web's shows all its."""
    import actorhttp
    import actorhttp.web

    listed = _listed_members(DOCS / "api" / "actorhttp.md")
    top_only = set(actorhttp.__all__) - set(actorhttp.web.__all__)
    assert top_only - listed == set(), "add these to docs/api/actorhttp.md's members"
    assert listed - top_only == set(), "docs/api/actorhttp.md lists names web's page shows"


def test_every_message_name_is_on_an_api_page() -> None:
    import actorhttp
    import actorhttp.messages
    import actorhttp.web

    listed = _listed_members(DOCS / "api" / "messages.md")
    documented_elsewhere = set(actorhttp.web.__all__) | set(actorhttp.__all__)
    unlisted = set(actorhttp.messages.__all__) - listed - documented_elsewhere
    assert unlisted == set(), "add these to docs/api/messages.md's members"


def test_api_pages_render_every_public_module() -> None:
    rendered = {
        match
        for page in (DOCS / "api").glob("*.md")
        for match in re.findall(r"^::: ([\w.]+)$", page.read_text(), re.MULTILINE)
    }
    # Rendered, with no __all__ of documentable names to check: hdrs holds constants (as
    # aiohttp's, it has no __all__), and aiohttp_patch cannot be imported here.
    assert rendered == {*PUBLIC_MODULES, "actorhttp.hdrs", "actorhttp.aiohttp_patch"}


def _python_blocks() -> list[tuple[str, int, str]]:
    blocks = []
    for page in sorted(DOCS.rglob("*.md")):
        text = page.read_text()
        for match in re.finditer(r"^```python\n(.*?)^```$", text, re.MULTILINE | re.DOTALL):
            line = text.count("\n", 0, match.start()) + 2
            blocks.append((page.relative_to(ROOT).as_posix(), line, match.group(1)))
    return blocks


def test_documentation_python_blocks_compile() -> None:
    """Every ```python block in docs/ is valid Python.

    A fragment may use names it does not define, and ``await`` or ``async with``
    at its top level (it stands for the inside of an async function).
    """
    blocks = _python_blocks()
    assert len(blocks) > 20, "the pattern finds the pages' code blocks"
    for path, line, source in blocks:
        try:
            compile(source, f"{path}:{line}", "exec", flags=ast.PyCF_ALLOW_TOP_LEVEL_AWAIT)
        except SyntaxError as exc:
            pytest.fail(f"{path}, the block at line {line}: {exc}")
