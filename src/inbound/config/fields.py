"""The shapes of a setting's declaration: a value with its bounds, and what it does (shown to
operators)."""

from typing import Any

from pydantic import Field


def setting(default: Any, description: str, **bounds: Any) -> Any:
    """A setting with its default, what it does, and the bounds of its value (`ge`, `le`...)."""
    return Field(default=default, description=description, **bounds)


def period(default: float, description: str) -> Any:
    """How often a pass runs, in seconds; 0 turns it off."""
    return setting(default, description, ge=0)


def positive(default: float, description: str, **bounds: Any) -> Any:
    """A duration (or a window) above zero."""
    return setting(default, description, gt=0, **bounds)


def count(default: int, description: str, **bounds: Any) -> Any:
    """How many of something, at least one."""
    return setting(default, description, ge=1, **bounds)
