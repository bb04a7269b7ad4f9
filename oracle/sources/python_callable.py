"""Inputs computed by Python code: a ``module:function`` or an installed entry point.

A module is looked for first as a file in the feed folder (``features:latest`` is
``<feed>/features.py``), then on the import path. Installed packages can offer sources
under the entry-point group ``zkoracle.sources``. The function is called as
``function(now=<unix time>, **args)`` and returns the model's source values.
"""

from __future__ import annotations

import hashlib
import importlib
import importlib.util
import sys
import threading
from collections.abc import Callable, Iterable, Sequence
from concurrent.futures import Future, wait
from pathlib import Path
from types import ModuleType
from typing import Any

from oracle.exceptions import SourceError
from oracle.sources.base import InputSource
from oracle.sources.numbers import flatten
from oracle.sources.settings import (
    DEFAULT_CALLABLE_TIMEOUT_SECONDS,
    ENTRY_POINT_GROUP,
    CallableSourceSpec,
    feed_module_file,
    source_entry_points,
)

SourceFunction = Callable[..., Iterable[Any]]


class CallableSource(InputSource):
    """Calls the feed's function in a worker thread, and gives up on it after ``timeout_seconds``.

    Python cannot stop a thread, so a call that times out is abandoned, not killed: it
    runs on, and the source refuses to call the function again until it has returned,
    so a hung dependency costs one thread, not one per tick.
    """

    def __init__(
        self,
        function: SourceFunction,
        *,
        name: str,
        args: dict[str, Any] | None = None,
        timeout_seconds: float = DEFAULT_CALLABLE_TIMEOUT_SECONDS,
    ) -> None:
        self._function = function
        self._name = name
        self._args = dict(args or {})
        self._timeout = timeout_seconds
        self._abandoned: threading.Thread | None = None

    @classmethod
    def from_settings(cls, settings: CallableSourceSpec) -> CallableSource:
        """Load the feed's function (this runs the feed's own module code) and wrap it."""
        if settings.entry_point is not None:
            return cls(
                _load_entry_point(settings.entry_point),
                name=f"entry point {settings.entry_point}",
                args=settings.args,
                timeout_seconds=settings.timeout_seconds,
            )
        module_name, _, attribute = str(settings.function).partition(":")
        if feed_module_file(settings.folder, module_name).is_file():
            module = _load_feed_module(settings.folder, module_name)
        else:
            try:
                module = importlib.import_module(module_name)
            except Exception as exc:  # the module's own code runs here
                raise SourceError(f"callable {settings.function}: importing {module_name} raised {exc}") from exc
        function = getattr(module, attribute, None)
        if not callable(function):
            raise SourceError(f"callable {settings.function}: {module_name} has no function {attribute}")
        return cls(function, name=str(settings.function), args=settings.args, timeout_seconds=settings.timeout_seconds)

    def fetch(self, *, now: float | None = None) -> Sequence[float]:
        what = f"callable {self._name}"
        if self._abandoned is not None and self._abandoned.is_alive():
            raise SourceError(
                f"{what} is still running from an earlier tick, abandoned after its {self._timeout:g} s timeout; "
                "it is not called again until that call returns"
            )
        call: Future[Iterable[Any]] = Future()

        def run() -> None:
            try:
                call.set_result(self._function(now=now, **self._args))
            except BaseException as exc:  # noqa: BLE001  (handed to the calling thread, which judges it)
                call.set_exception(exc)

        # A daemon thread: an abandoned call must not keep the process alive at exit.
        worker = threading.Thread(target=run, name=f"zkoracle source {self._name}", daemon=True)
        worker.start()
        if not wait([call], timeout=self._timeout).done:
            self._abandoned = worker
            raise SourceError(
                f"{what} gave no answer within {self._timeout:g} s (source.timeout_seconds); abandoned the call"
            )
        error = call.exception()
        if error is not None and not isinstance(error, Exception):
            raise error  # SystemExit, KeyboardInterrupt: not the feed's failure, the process's
        # Any exception from feed code must end the round with a reason, not stop the node.
        if error is not None:
            raise SourceError(f"{what} raised {type(error).__name__}: {error}") from error
        result = call.result()
        if isinstance(result, str | bytes | dict) or not isinstance(result, Iterable):
            raise SourceError(f"{what} returned {result!r}, not a list of numbers")
        # A tensor (nested lists, a NumPy array) is flattened row-major; the node checks the count.
        return [x for index, value in enumerate(result) for x in flatten(value, what=f"{what}: value {index}")]


def _load_feed_module(folder: Path, module: str) -> ModuleType:
    """Import ``<folder>/<module>.py`` under a name unique to the folder, so two feeds' ``features.py`` never clash."""
    file = feed_module_file(folder, module)
    unique = f"_zkoracle_feed_{hashlib.sha256(str(file.resolve()).encode()).hexdigest()[:12]}"
    if unique in sys.modules:
        return sys.modules[unique]
    spec = importlib.util.spec_from_file_location(unique, file)
    if spec is None or spec.loader is None:
        raise SourceError(f"callable: cannot load {file}")
    loaded = importlib.util.module_from_spec(spec)
    sys.modules[unique] = loaded  # dataclasses and pickling look modules up here
    try:
        spec.loader.exec_module(loaded)
    except Exception as exc:
        del sys.modules[unique]
        raise SourceError(f"callable: importing {file} raised {type(exc).__name__}: {exc}") from exc
    return loaded


def _load_entry_point(name: str) -> SourceFunction:
    entries = source_entry_points(name)
    if not entries:
        raise SourceError(f"callable: no entry point {name!r} is installed in the group {ENTRY_POINT_GROUP}")
    try:
        return entries[0].load()
    except Exception as exc:  # the providing package's code runs here
        raise SourceError(f"callable entry point {name}: loading {entries[0].value} raised {exc}") from exc
