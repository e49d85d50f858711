"""`patoolkit.__all__` is exactly what the package exports (httpx's test of the same name)."""

from __future__ import annotations

import patoolkit


def test_all_names_resolve_and_nothing_public_is_missing() -> None:
    for name in patoolkit.__all__:
        assert getattr(patoolkit, name) is not None, name
    public = {name for name in dir(patoolkit) if not name.startswith("_")}
    modules = {name for name in public if type(getattr(patoolkit, name)).__name__ == "module"}
    assert public - modules <= set(patoolkit.__all__) | {"annotations"}


def test_lazy_names_are_the_real_functions() -> None:
    from patoolkit.tracker.edit import update_request

    assert patoolkit.update_request is update_request
