"""The one shape of a setting's declaration."""

from typing import Any

from pydantic import Field


def setting(default: Any, description: str, **bounds: Any) -> Any:
    """A setting with its default, what it does (shown to operators), and the bounds of its
    value (`ge`, `gt`, `le`, `min_length`)."""
    return Field(default=default, description=description, **bounds)
