"""A secret setting's value (a token, a key, a passphrase) that no repr, str or log line shows."""

from __future__ import annotations

from typing import Any

MASK = "**********"


class SecretStr:
    """The same promise as pydantic's `SecretStr`, without pydantic in the running bot: only
    `get_secret_value()` gives the value (not `repr`, `str`, or `dataclasses.asdict` of the settings);
    equal values compare equal."""

    __slots__ = ("_value",)

    def __init__(self, value: str) -> None:
        self._value = value

    def get_secret_value(self) -> str:
        return self._value

    def __repr__(self) -> str:
        return f"SecretStr('{MASK}')"

    def __str__(self) -> str:
        return MASK

    def __len__(self) -> int:
        return len(self._value)

    def __eq__(self, other: object) -> bool:
        if not isinstance(other, SecretStr):
            return NotImplemented
        return other._value == self._value

    def __hash__(self) -> int:
        return hash(self._value)

    def __reduce__(self) -> tuple[Any, ...]:
        return (SecretStr, (self._value,))

    def __deepcopy__(self, memo: dict[int, Any]) -> SecretStr:
        return self
