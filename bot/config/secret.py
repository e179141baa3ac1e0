"""A secret setting's value (a token, a key, a passphrase) that no repr, str or log line shows."""

from __future__ import annotations

from dataclasses import dataclass, field

MASK = "**********"


@dataclass(frozen=True, slots=True)
class SecretStr:
    """The same promise as pydantic's `SecretStr`, without pydantic in the running bot: only
    `get_secret_value()` gives the value; equal values compare equal."""

    _value: str = field(repr=False)

    def get_secret_value(self) -> str:
        return self._value

    def __repr__(self) -> str:
        return f"SecretStr('{MASK}')"

    def __str__(self) -> str:
        return MASK

    def __len__(self) -> int:
        return len(self._value)
