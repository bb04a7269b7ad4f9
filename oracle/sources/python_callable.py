"""Inputs computed by Python code: a ``module:function`` or an installed entry point.

A module is looked for first as a file in the feed folder (``features:latest`` is
``<feed>/features.py``), then on the import path. Installed packages can offer sources
under the entry-point group ``zkoracle.sources``. The function is called as
``function(now=<unix time>, **args)`` and returns the model's source values.
"""

from __future__ import annotations

import hashlib
import importlib
import importlib.metadata
import importlib.util
import sys
import threading
from collections.abc import Callable, Iterable, Sequence
from concurrent.futures import Future, wait
from pathlib import Path
from types import ModuleType
from typing import Any, Literal

from pydantic import Field, ValidationInfo, field_validator, model_validator

from oracle.exceptions import SourceError
from oracle.sources.base import InputSource, SourceContext
from oracle.sources.numbers import to_float
from oracle.sources.spec import FolderSpec

ENTRY_POINT_GROUP = "zkoracle.sources"
DEFAULT_TIMEOUT_SECONDS = 10.0  # a tick's fetch; longer than HTTP sources' 5 s, for code that calls several APIs

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
        timeout_seconds: float = DEFAULT_TIMEOUT_SECONDS,
    ) -> None:
        self._function = function
        self._name = name
        self._args = dict(args or {})
        self._timeout = timeout_seconds
        self._abandoned: threading.Thread | None = None

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
        return [to_float(value, what=f"{what}: value {index}") for index, value in enumerate(result)]


def _feed_module_file(folder: Path, module: str) -> Path:
    return folder.joinpath(*module.split(".")).with_suffix(".py")


def _load_feed_module(folder: Path, module: str) -> ModuleType:
    """Import ``<folder>/<module>.py`` under a name unique to the folder, so two feeds' ``features.py`` never clash."""
    file = _feed_module_file(folder, module)
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


def _entry_points(name: str) -> list[importlib.metadata.EntryPoint]:
    return list(importlib.metadata.entry_points(group=ENTRY_POINT_GROUP, name=name))


class CallableSourceSpec(FolderSpec):
    """``kind = "callable"``: ``function = "module:function"`` or ``entry_point = "name"``, plus keyword ``args``."""

    kind: Literal["callable"]
    function: str | None = Field(
        default=None,
        pattern=r"^[A-Za-z_][A-Za-z0-9_]*(\.[A-Za-z_][A-Za-z0-9_]*)*:[A-Za-z_][A-Za-z0-9_]*$",
        description="module:function; the module is a .py file in the feed folder or an importable module",
    )
    entry_point: str | None = Field(default=None, min_length=1, description=f"a name in the group {ENTRY_POINT_GROUP}")
    args: dict[str, Any] = Field(default_factory=dict, description="keyword arguments passed to the function")
    timeout_seconds: float = Field(
        default=DEFAULT_TIMEOUT_SECONDS, gt=0, le=300, description="then the call is abandoned and the round fails"
    )

    @field_validator("function")
    @classmethod
    def _module_exists(cls, function: str | None, info: ValidationInfo) -> str | None:
        # Checked without running the feed's code: that happens when the node starts.
        if function is not None:
            module = function.partition(":")[0]
            file = _feed_module_file(info.data.get("folder", Path(".")), module)
            if not file.is_file() and not _importable(module):
                raise ValueError(f"module {module!r} is neither {file} nor importable")
        return function

    @field_validator("entry_point")
    @classmethod
    def _entry_point_installed(cls, entry_point: str | None) -> str | None:
        if entry_point is not None and not _entry_points(entry_point):
            raise ValueError(f"no entry point {entry_point!r} is installed in the group {ENTRY_POINT_GROUP}")
        return entry_point

    @model_validator(mode="after")
    def _exactly_one(self) -> CallableSourceSpec:
        if (self.function is None) == (self.entry_point is None):
            raise ValueError('set exactly one of function = "module:function" and entry_point = "name"')
        return self

    def create(self, context: SourceContext | None = None) -> InputSource:
        if self.entry_point is not None:
            return CallableSource(
                _load_entry_point(self.entry_point),
                name=f"entry point {self.entry_point}",
                args=self.args,
                timeout_seconds=self.timeout_seconds,
            )
        module_name, _, attribute = str(self.function).partition(":")
        if _feed_module_file(self.folder, module_name).is_file():
            module = _load_feed_module(self.folder, module_name)
        else:
            try:
                module = importlib.import_module(module_name)
            except Exception as exc:  # the module's own code runs here
                raise SourceError(f"callable {self.function}: importing {module_name} raised {exc}") from exc
        function = getattr(module, attribute, None)
        if not callable(function):
            raise SourceError(f"callable {self.function}: {module_name} has no function {attribute}")
        return CallableSource(function, name=str(self.function), args=self.args, timeout_seconds=self.timeout_seconds)


def _load_entry_point(name: str) -> SourceFunction:
    entries = _entry_points(name)
    if not entries:
        raise SourceError(f"callable: no entry point {name!r} is installed in the group {ENTRY_POINT_GROUP}")
    try:
        return entries[0].load()
    except Exception as exc:  # the providing package's code runs here
        raise SourceError(f"callable entry point {name}: loading {entries[0].value} raised {exc}") from exc


def _importable(module: str) -> bool:
    try:
        return importlib.util.find_spec(module) is not None
    except (ImportError, ValueError):  # a missing parent package
        return False
