"""One typed settings loader for every component: build profiles (TOML), the CDK app's context (JSON,
`-c` flags) and the runtime's environment variables (text).

A frozen dataclass declares a component's settings: names, types, defaults, and range checks in its
`__post_init__`. `from_mapping` and `from_env` turn raw values into it, naming the offending key.
Environment variables are named after the fields (`DECORUM_` + the field name in capitals), so a
settings class is also the one owner of its variables: the runtime reads them with `from_env` and
the stack writes them with `to_env`, which builds (and so validates) the settings at synth.

Standard library only: the serving image, the Lambda bundle, the build and the CDK app import it.
"""

from __future__ import annotations

import dataclasses
import json
import os
import types
import typing
from collections.abc import Mapping
from typing import Any, Literal, TypeVar

ENV_PREFIX = "DECORUM_"
T = TypeVar("T")


class SettingsError(ValueError):
    """A setting is missing or invalid; the message names it."""


def env_name(field: str) -> str:
    """The environment variable that carries the settings field `field`."""
    return ENV_PREFIX + field.upper()


def env_names(cls: type) -> tuple[str, ...]:
    """Every variable `from_env(cls)` reads."""
    return tuple(env_name(f.name) for f in dataclasses.fields(cls))


def required_env_names(cls: type) -> tuple[str, ...]:
    """The variables `from_env(cls)` cannot do without (fields with no default)."""
    return tuple(env_name(f.name) for f in dataclasses.fields(cls)
                 if f.default is dataclasses.MISSING and f.default_factory is dataclasses.MISSING)


def from_mapping(cls: type[T], raw: Any, where: str = "", error: type[SettingsError] = SettingsError) -> T:
    """Builds `cls` from a table of typed values (TOML, JSON); unknown keys and wrong types fail."""
    if not isinstance(raw, dict):
        raise error(f"{where or 'config'} must be a table")
    hints = typing.get_type_hints(cls)
    known = {f.name for f in dataclasses.fields(cls)}  # type: ignore[arg-type]
    unknown = set(raw) - known
    if unknown:
        raise error(f"unknown key(s) in {where or 'config'}: {sorted(unknown)}")
    kwargs = {k: _coerce(hints[k], v, f"{where}.{k}".lstrip("."), error) for k, v in raw.items()}
    try:
        return cls(**kwargs)
    except TypeError as exc:  # a required key is missing
        raise error(f"{where or 'config'}: {exc}") from None


def from_env(cls: type[T], env: Mapping[str, str] | None = None, error: type[SettingsError] = SettingsError,
             **overrides: Any) -> T:
    """Builds `cls` from `DECORUM_<FIELD>` variables (empty means unset); `overrides` (not None) win."""
    env = os.environ if env is None else env
    hints = typing.get_type_hints(cls)
    kwargs: dict[str, Any] = {}
    for f in dataclasses.fields(cls):  # type: ignore[arg-type]
        text = env.get(env_name(f.name), "").strip()
        if text:
            kwargs[f.name] = parse_text(hints[f.name], text, env_name(f.name), error)
    kwargs.update({k: v for k, v in overrides.items() if v is not None})
    missing = [name for name in required_env_names(cls) if name.removeprefix(ENV_PREFIX).lower() not in kwargs]
    if missing:
        raise error(f"{', '.join(missing)} {'is' if len(missing) == 1 else 'are'} not set")
    return cls(**kwargs)


def to_env(settings: Any) -> dict[str, str]:
    """The variables that give back `settings` through `from_env`: every field that is set (not None), so
    the deployed environment shows the whole configuration, not only what differs from a default."""
    return {env_name(f.name): _to_text(getattr(settings, f.name)) for f in dataclasses.fields(settings)
            if getattr(settings, f.name) is not None}


def parse_text(hint: Any, text: str, name: str, error: type[SettingsError] = SettingsError) -> Any:
    """A value written as text (an environment variable, a `-c` flag) as the type `hint` asks for."""
    origin = typing.get_origin(hint)
    if origin in (typing.Union, types.UnionType):
        (hint,) = [a for a in typing.get_args(hint) if a is not type(None)]
        origin = typing.get_origin(hint)
    if origin is Literal:
        if text not in typing.get_args(hint):
            raise error(f"{name} must be one of {typing.get_args(hint)}, got {text!r}")
        return text
    if origin is tuple or origin is dict:
        if text[:1] in "[{":
            try:
                return _coerce(hint, json.loads(text), name, error)
            except ValueError:
                raise error(f"{name} must be a JSON list or table, got {text[:40]!r}") from None
        if origin is dict:
            raise error(f"{name} must be a JSON table")
        return tuple(item.strip() for item in text.split(",") if item.strip())
    if hint is bool:
        if text.lower() not in ("true", "false"):
            raise error(f"{name} must be true or false, got {text!r}")
        return text.lower() == "true"
    if hint in (int, float):
        try:
            return hint(text)
        except ValueError:
            raise error(f"{name} must be {'an integer' if hint is int else 'a number'}, got {text[:40]!r}") from None
    return text


def _to_text(value: Any) -> str:
    if isinstance(value, bool):
        return str(value).lower()
    if isinstance(value, tuple):
        return ",".join(str(v) for v in value)
    if isinstance(value, dict):
        return json.dumps(value)
    return str(value)


def _coerce(hint: Any, value: Any, where: str, error: type[SettingsError]) -> Any:
    origin = typing.get_origin(hint)
    if dataclasses.is_dataclass(hint):
        return from_mapping(hint, value, where, error)  # type: ignore[arg-type]
    if origin is tuple:
        (item,) = {a for a in typing.get_args(hint) if a is not Ellipsis}
        if not isinstance(value, list | tuple):
            raise error(f"{where} must be a list")
        return tuple(_coerce(item, v, f"{where}[{i}]", error) for i, v in enumerate(value))
    if origin is dict:
        key_t, val_t = typing.get_args(hint)
        if not isinstance(value, dict):
            raise error(f"{where} must be a table")
        return {_coerce(key_t, k, where, error): _coerce(val_t, v, f"{where}.{k}", error) for k, v in value.items()}
    if origin is Literal:
        if value not in typing.get_args(hint):
            raise error(f"{where} must be one of {typing.get_args(hint)}, got {value!r}")
        return value
    if origin in (typing.Union, types.UnionType):
        # `X | None`: checked as X (TOML and JSON have no None to give); wider unions pass as they are.
        args = [a for a in typing.get_args(hint) if a is not type(None)]
        return value if value is None or len(args) != 1 else _coerce(args[0], value, where, error)
    if hint is float and isinstance(value, int) and not isinstance(value, bool):
        return float(value)
    if not isinstance(value, hint) or (hint is int and isinstance(value, bool)):
        raise error(f"{where} must be {hint.__name__}, got {type(value).__name__}")
    return value
