"""Setting values as their declared type, whether they come from YAML, the environment or the
command line (`--param key=value`): one rule for every setting of the project.

- bool: a YAML boolean, or one of the words `1 true yes on` / `0 false no off` (any case);
- int: an int, or a string of one ("8"); never a bool, never a float with a fraction;
- float: an int or a float, or a string of one;
- str: a string; Path: a string or a path;
- optional (`Path | None`): also None or an empty string, which give None.
"""

from __future__ import annotations

import os
import types
import typing
from pathlib import Path
from typing import Any

from core.errors import ConfigError

TRUE_WORDS = ("1", "true", "yes", "on")
FALSE_WORDS = ("0", "false", "no", "off")


def parse_bool(value: Any, name: str) -> bool:
    """`value` as a bool (see the module docstring); raises `ConfigError` naming `name`."""
    if isinstance(value, bool):
        return value
    word = str(value).strip().lower()
    if word in TRUE_WORDS + FALSE_WORDS:
        return word in TRUE_WORDS
    raise ConfigError(f"{name} must be true or false, got {value!r}")


def as_type(value: Any, kind: Any, name: str) -> Any:
    """`value` as `kind` (bool, int, float, str or Path, or one of them `| None`); raises
    `ConfigError` naming `name`."""
    if typing.get_origin(kind) in (typing.Union, types.UnionType):
        if value is None or value == "":
            return None
        kind = next(arg for arg in typing.get_args(kind) if arg is not type(None))
    if kind is bool:
        return parse_bool(value, name)
    if isinstance(value, str) and kind in (int, float):
        value = value.strip()
        try:
            return kind(value)
        except ValueError:
            pass
    elif kind is int and isinstance(value, int) and not isinstance(value, bool):
        return value
    elif kind is float and isinstance(value, (int, float)) and not isinstance(value, bool):
        return float(value)
    elif kind is str and isinstance(value, str):
        return value
    elif kind is Path and isinstance(value, (str, os.PathLike)):
        return Path(value)
    raise ConfigError(f"{name} must be {kind.__name__}, got {value!r}")


def comma_list(text: str, kind: type, name: str) -> list:
    """`"a, b, c"` as `[a, b, c]`, each `as_type(item, kind)`; empty items are dropped. Raises
    `ConfigError` naming `name` for a bad item or an empty list."""
    items = [as_type(item.strip(), kind, name) for item in text.split(",") if item.strip()]
    if not items:
        raise ConfigError(f"{name} must list at least one {kind.__name__}, separated by commas")
    return items
