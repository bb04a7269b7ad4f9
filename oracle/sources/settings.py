"""Each source kind's settings: the ``[source]`` table of feed.toml, as plain validated data.

Nothing here imports a source's implementation (HTTP clients, web3, the feed's own code):
the feed schema uses these models, and :func:`oracle.sources.factory.create_source`
turns them into a running source.
"""

from __future__ import annotations

import importlib.metadata
import importlib.util
from pathlib import Path
from typing import Annotated, Any, Literal

from pydantic import BaseModel, ConfigDict, Field, ValidationInfo, field_validator, model_validator

from oracle.sources.jsonpaths import compile_path

ENTRY_POINT_GROUP = "zkoracle.sources"
DEFAULT_CALLABLE_TIMEOUT_SECONDS = (
    10.0  # a tick's fetch; longer than HTTP sources' 5 s, for code that calls several APIs
)

EnvName = Annotated[str, Field(pattern=r"^[A-Za-z_][A-Za-z0-9_]*$")]


class StrictSpec(BaseModel):
    """Unknown keys are errors, so a misspelt option is reported instead of ignored."""

    model_config = ConfigDict(extra="forbid", frozen=True)


class FolderSpec(StrictSpec):
    """A source that reads files or code shipped beside feed.toml.

    ``load_feed`` passes the feed folder in pydantic's validation context; relative
    paths are resolved against it, never against the node's working directory.
    """

    folder: Path = Field(default=Path("."), exclude=True)

    @model_validator(mode="before")
    @classmethod
    def _feed_folder(cls, data: Any, info: ValidationInfo) -> Any:
        folder = (info.context or {}).get("folder")
        if isinstance(data, dict) and folder is not None:
            return {**data, "folder": folder}
        return data


class SyntheticSourceSpec(StrictSpec):
    """The deterministic synthetic price series (see :mod:`oracle.sources.synthetic`)."""

    kind: Literal["synthetic"]
    window: int = Field(gt=0, description="how many consecutive prices the model takes")
    tick_seconds: float = Field(gt=0, description="seconds per step of the series")
    base: float = Field(default=2000.0, gt=0, description="the series' central price")
    seed: str = Field(default="zkoracle", description="changes the noise, not the cycles")


class ViewSpec(StrictSpec):
    address: str = Field(pattern=r"^0x[0-9a-fA-F]{40}$")
    function: str = Field(default="value()", pattern=r"^[A-Za-z_][A-Za-z0-9_]*\(\)$")
    decimals: int = Field(ge=0, le=36)


class EvmViewSourceSpec(StrictSpec):
    """Inputs read from view functions returning int256 on the oracle's chain.

    The contract reads the same views in ``submit`` and requires the proof to have used
    exactly these values, so the feed's inputs are as trustworthy as those contracts.
    """

    kind: Literal["evm_view"]
    views: list[ViewSpec] = Field(min_length=1)


class AggregatorSpec(StrictSpec):
    address: str = Field(pattern=r"^0x[0-9a-fA-F]{40}$", description="an AggregatorV3Interface feed or zkoracle proxy")
    max_age_seconds: int = Field(
        default=3600, gt=0, lt=2**32, description="the oracle refuses a source round older than this"
    )


class EvmAggregatorSourceSpec(StrictSpec):
    """Inputs that are the latest rounds of AggregatorV3Interface feeds on the oracle's chain.

    Chainlink's feeds, or another zkoracle feed's proxy: the node names the round it read
    in ``submit``, and the contract reads that round itself and requires the proof to have
    used its answer, so no transaction can move the input (the ``onchain`` input policy).
    """

    kind: Literal["evm_aggregator"]
    feeds: list[AggregatorSpec] = Field(min_length=1)


class HttpJsonSourceSpec(StrictSpec):
    """``kind = "http_json"``: GET ``url``; each JSONPath in ``values`` adds the numbers it matches."""

    kind: Literal["http_json"]
    url: str = Field(pattern=r"^https?://\S+$", description="no secrets here: use headers + environment variables")
    values: list[str] = Field(min_length=1, description="JSONPaths, in model input order; [*] adds every match")
    headers: dict[str, EnvName] = Field(
        default_factory=dict, description="header name -> NAME of the environment variable holding its value"
    )
    timeout_seconds: float = Field(default=5.0, gt=0, le=300)

    @field_validator("values")
    @classmethod
    def _paths_parse(cls, values: list[str]) -> list[str]:
        for expression in values:
            compile_path(expression)
        return values


class FileSourceSpec(FolderSpec):
    """``kind = "file"``: the latest ``window`` rows of a CSV or JSON file, oldest first."""

    kind: Literal["file"]
    path: Path = Field(description="a .csv or .json file, relative to the feed folder")
    columns: list[str] = Field(
        default_factory=list,
        validate_default=True,  # a CSV source without columns must be refused
        description="CSV header names or JSON object keys, in model input order (a JSON list of numbers needs none)",
    )
    rows: str = Field(default="$", description="JSON only: the JSONPath of the list of rows")
    window: int = Field(default=1, gt=0, description="rows per round; the model takes window × columns values")
    replay_seconds: float | None = Field(
        default=None, gt=0, description="replay the file as a history, one row per this many seconds"
    )

    @field_validator("path")
    @classmethod
    def _existing_table(cls, path: Path, info: ValidationInfo) -> Path:
        if path.suffix not in (".csv", ".json"):
            raise ValueError(f"{path} is neither .csv nor .json")
        resolved = info.data.get("folder", Path(".")) / path
        if not resolved.is_file():
            raise ValueError(f"{resolved} does not exist")
        return path

    @field_validator("columns")
    @classmethod
    def _csv_has_columns(cls, columns: list[str], info: ValidationInfo) -> list[str]:
        path = info.data.get("path")
        if path is not None and path.suffix == ".csv" and not columns:
            raise ValueError('a CSV source needs columns = ["..."] (header names)')
        return columns

    @field_validator("rows")
    @classmethod
    def _rows_path(cls, rows: str, info: ValidationInfo) -> str:
        path = info.data.get("path")
        if path is not None and path.suffix == ".csv" and rows != "$":
            raise ValueError("rows (a JSONPath) only applies to JSON files")
        compile_path(rows)
        return rows

    @property
    def resolved_path(self) -> Path:
        return self.folder / self.path


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
        default=DEFAULT_CALLABLE_TIMEOUT_SECONDS,
        gt=0,
        le=300,
        description="then the call is abandoned and the round fails",
    )

    @field_validator("function")
    @classmethod
    def _module_exists(cls, function: str | None, info: ValidationInfo) -> str | None:
        # Checked without running the feed's code: that happens when the node starts.
        if function is not None:
            module = function.partition(":")[0]
            file = feed_module_file(info.data.get("folder", Path(".")), module)
            if not file.is_file() and not _importable(module):
                raise ValueError(f"module {module!r} is neither {file} nor importable")
        return function

    @field_validator("entry_point")
    @classmethod
    def _entry_point_installed(cls, entry_point: str | None) -> str | None:
        if entry_point is not None and not source_entry_points(entry_point):
            raise ValueError(f"no entry point {entry_point!r} is installed in the group {ENTRY_POINT_GROUP}")
        return entry_point

    @model_validator(mode="after")
    def _exactly_one(self) -> CallableSourceSpec:
        if (self.function is None) == (self.entry_point is None):
            raise ValueError('set exactly one of function = "module:function" and entry_point = "name"')
        return self


class BundleSourceSpec(FolderSpec):
    """``kind = "bundle"``: each member feed's source, through the member's own ``[input]``, in member order.

    Written by ``zkoracle feeds bundle``: the bundle's composed model takes every member's
    inputs in this order, then the one observation time they share.
    """

    kind: Literal["bundle"]
    members: list[Path] = Field(min_length=1, description="the member feeds' folders, relative to the bundle's")

    @field_validator("members")
    @classmethod
    def _existing_members(cls, members: list[Path], info: ValidationInfo) -> list[Path]:
        for member in members:
            resolved = info.data.get("folder", Path(".")) / member
            if not resolved.is_dir():
                raise ValueError(f"member feed folder {resolved} does not exist")
        return members

    @property
    def member_folders(self) -> list[Path]:
        return [(self.folder / member).resolve() for member in self.members]


SourceSpec = Annotated[
    SyntheticSourceSpec
    | EvmViewSourceSpec
    | EvmAggregatorSourceSpec
    | HttpJsonSourceSpec
    | FileSourceSpec
    | CallableSourceSpec
    | BundleSourceSpec,
    Field(discriminator="kind"),
]


def feed_module_file(folder: Path, module: str) -> Path:
    """Where a callable source's ``module`` lives when it ships in the feed folder."""
    return folder.joinpath(*module.split(".")).with_suffix(".py")


def source_entry_points(name: str) -> list[importlib.metadata.EntryPoint]:
    """The installed entry points offering the source function ``name``."""
    return list(importlib.metadata.entry_points(group=ENTRY_POINT_GROUP, name=name))


def _importable(module: str) -> bool:
    try:
        return importlib.util.find_spec(module) is not None
    except (ImportError, ValueError):  # a missing parent package
        return False
