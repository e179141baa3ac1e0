"""Settings checked by pydantic-settings: the environment's text becomes `Settings`, every problem at once.

The model is made from `Settings` itself (each field's type, default and `Parse`), so the settings are
declared once, in `bot.config.settings`. The bot runs this in a process of its own at startup
(`bot.config.apart`, which calls `main`); tests call it directly. Nothing the running bot imports may
import this module (an import contract in pyproject.toml).
"""

from __future__ import annotations

import dataclasses
import pickle
import sys
from collections.abc import Mapping
from typing import Annotated, Any, get_args, get_origin, get_type_hints

from pydantic import BeforeValidator, ValidationError, create_model
from pydantic_settings import BaseSettings, PydanticBaseSettingsSource, SettingsConfigDict

from bot.config.settings import Parse, Problem, Settings, SettingsError, shown


class _Checked(BaseSettings):
    """The base of the model: only the values `validated` is given (no environment or file of its own),
    values never echoed in pydantic's messages, our `SecretStr` checked as what it is."""

    model_config = SettingsConfigDict(
        frozen=True, extra="ignore", hide_input_in_errors=True, arbitrary_types_allowed=True
    )

    @classmethod
    def settings_customise_sources(
        cls,
        settings_cls: type[BaseSettings],
        init_settings: PydanticBaseSettingsSource,
        env_settings: PydanticBaseSettingsSource,
        dotenv_settings: PydanticBaseSettingsSource,
        file_secret_settings: PydanticBaseSettingsSource,
    ) -> tuple[PydanticBaseSettingsSource, ...]:
        return (init_settings,)


def _field(hint: Any, default: Any) -> tuple[Any, Any]:
    """A `Settings` field as pydantic's (type, default): its `Parse` becomes a BeforeValidator."""
    if get_origin(hint) is Annotated:
        kind, *metadata = get_args(hint)
        checks = [BeforeValidator(m.parse) for m in metadata if isinstance(m, Parse)]
        hint = Annotated[kind, *checks] if checks else kind
    return hint, default


def _model() -> type[_Checked]:
    hints = get_type_hints(Settings, include_extras=True)
    fields: dict[str, Any] = {
        f.name: _field(hints[f.name], ... if f.default is dataclasses.MISSING else f.default)
        for f in dataclasses.fields(Settings)
    }
    return create_model("CheckedSettings", __base__=_Checked, **fields)


CheckedSettings = _model()


def _values(settings: object) -> dict[str, Any]:
    """Each setting's value, by field name, from `settings` (checked settings, or the model's)."""
    return {f.name: getattr(settings, f.name) for f in dataclasses.fields(Settings)}


def _problems(error: Mapping[str, Any], env: Mapping[str, str]) -> list[Problem]:
    name = str(error["loc"][0]).upper()
    if error["type"] == "missing":
        return [Problem(name, f"{name} is not set: add it to .env or the environment (see .env.example)")]
    reason = str(error["ctx"]["error"]) if error["type"] == "value_error" else ""
    if not reason.startswith(("must", "is ")):
        reason = "is not valid"
    return [Problem(name, f"{name} {reason} (got {shown(name, env.get(name, ''))})")]


def validated(values: Mapping[str, Any], env: Mapping[str, str] | None = None) -> Settings:
    """`Settings` from raw values by field name (text, or values given in code); `env`, the variables
    they came from, is what a problem's line may echo (never a secret). Raise SettingsError listing
    every problem: each bad field, or else every contradiction between fields."""
    shown_from = env if env is not None else {k.upper(): str(v) for k, v in values.items()}
    try:
        checked = CheckedSettings(**values)
    except ValidationError as exc:
        raise SettingsError(
            [problem for e in exc.errors(include_url=False) for problem in _problems(e, shown_from)]
        ) from None
    settings = Settings(**_values(checked))
    if lines := list(settings.contradictions()):
        raise SettingsError([Problem(line.split(" ", 1)[0], line) for line in lines])
    return settings


def load_settings(env: Mapping[str, str]) -> Settings:
    """Build settings from the variables in `env` (a blank one means its default); raise SettingsError
    listing every problem."""
    values: dict[str, Any] = {
        field.name: raw
        for field in dataclasses.fields(Settings)
        if (raw := env.get(field.name.upper())) is not None and raw.strip()
    }
    return validated(values, env)


def main(env: Mapping[str, str]) -> None:
    """The checking process (`bot.config.apart`): check `env`; on stdout, pickled, either
    `("settings", {field: value})` or `("problems", [(variable, line), ...])`: plain values, which the
    bot turns back into its own `Settings` and `Problem`s."""
    try:
        settings = load_settings(env)
    except SettingsError as exc:
        answer: tuple[str, Any] = ("problems", [(p.name, p.line) for p in exc.problems])
    else:
        answer = ("settings", _values(settings))
    sys.stdout.buffer.write(pickle.dumps(answer))
