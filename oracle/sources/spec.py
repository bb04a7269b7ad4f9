"""What the feed.toml tables of the source kinds share."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from pydantic import BaseModel, ConfigDict, Field, ValidationInfo, model_validator


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
