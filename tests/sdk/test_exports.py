"""The public surface: ``thrifty.__all__`` is the one list, sorted, complete and nothing more.

``thrifty.sdk`` derives its ``__all__`` from it; these tests catch a name added to one side only
(an SDK import nobody listed, or a listed name nothing defines) and a helper that looks public.
"""

from __future__ import annotations

import subprocess
import sys
from types import ModuleType

import thrifty
import thrifty.sdk


def _public_attributes(module: ModuleType) -> set[str]:
    """Names a user would take for API: not underscored, and not one of the package's submodules.

    (pytest rewrites asserts in every ``thrifty`` module, since the package registers a plugin,
    and leaves ``@py_builtins`` behind: not an identifier, so no one's API.)
    """
    return {
        name
        for name, value in vars(module).items()
        if name.isidentifier()
        and not name.startswith("_")
        and not (isinstance(value, ModuleType) and value.__name__ == f"{module.__name__}.{name}")
    }


def test_all_is_sorted_without_duplicates() -> None:
    assert thrifty.__all__ == sorted(set(thrifty.__all__))


def test_the_sdk_exports_the_same_names_and_the_package_adds_only_its_version() -> None:
    assert thrifty.sdk.__all__ == [name for name in thrifty.__all__ if name != "__version__"]
    assert set(thrifty.__all__) - set(thrifty.sdk.__all__) == {"__version__"}
    assert isinstance(thrifty.__version__, str)


def test_every_name_resolves_to_the_sdks_own_object() -> None:
    for name in thrifty.sdk.__all__:
        assert getattr(thrifty, name) is getattr(thrifty.sdk, name), name
    assert set(dir(thrifty)) >= set(thrifty.__all__)


def test_star_import_gives_exactly_all() -> None:
    namespace: dict[str, object] = {}
    exec("from thrifty import *", namespace)
    assert set(namespace) - {"__builtins__"} == set(thrifty.__all__)


def test_nothing_private_is_exported_and_nothing_public_is_unlisted() -> None:
    assert [name for name in thrifty.__all__ if name.startswith("_")] == ["__version__"]
    # Every public-looking attribute of the SDK package is listed: an import added there
    # without adding the name to thrifty.__all__ fails here.
    assert _public_attributes(thrifty.sdk) == set(thrifty.sdk.__all__)
    assert _public_attributes(thrifty) <= set(thrifty.__all__)


def test_listed_names_are_defined_before_the_sdk_is_imported() -> None:
    """A fresh interpreter: the list and ``dir`` are there before ``thrifty.sdk`` (and anthropic)."""
    code = (
        "import sys, thrifty; "
        "names = list(thrifty.__all__); listing = dir(thrifty); "
        "assert 'thrifty.sdk' not in sys.modules and 'anthropic' not in sys.modules; "
        "assert set(names) <= set(listing); "
        "print(len(names))"
    )
    run = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=60)
    assert run.returncode == 0, run.stderr
    assert run.stdout.strip() == str(len(thrifty.__all__))
