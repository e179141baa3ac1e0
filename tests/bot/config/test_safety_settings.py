"""The operator's safety settings: the whole bot's daily ceiling, the upload price, where the bot works."""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from bot.config.settings import SettingsError
from bot.config.validation import load_settings

BASE = {"DISCORD_TOKEN": "discord-token", "MUSICAPI_API_KEY": "musicapi-key"}


def test_defaults_bound_the_spend_and_work_anywhere() -> None:
    s = load_settings(BASE)
    assert (s.total_daily_credits, s.upload_credits) == (500, 2)
    assert s.allowed_guilds == frozenset() and s.allow_user_installs is True


def test_values_are_parsed() -> None:
    s = load_settings(
        {**BASE, "TOTAL_DAILY_CREDITS": "0", "UPLOAD_CREDITS": "3", "ALLOWED_GUILDS": " 12, 34 ,",
         "ALLOW_USER_INSTALLS": "off"}
    )  # fmt: skip
    assert (s.total_daily_credits, s.upload_credits) == (0, 3)
    assert s.allowed_guilds == frozenset({12, 34}) and s.allow_user_installs is False


@pytest.mark.parametrize(
    ("name", "value"),
    [("ALLOWED_GUILDS", "my-server"), ("ALLOWED_GUILDS", "12,-3"), ("ALLOWED_GUILDS", "1e3"),
     ("TOTAL_DAILY_CREDITS", "-1"), ("TOTAL_DAILY_CREDITS", "lots"), ("UPLOAD_CREDITS", "2.5"),
     ("ALLOW_USER_INSTALLS", "maybe")],
)  # fmt: skip
def test_a_bad_value_is_one_line_naming_it(name: str, value: str) -> None:
    with pytest.raises(SettingsError) as info:
        load_settings({**BASE, name: value})
    assert info.value.names == [name]
    assert info.value.problems[0].line.startswith(f"{name} must")


@given(st.lists(st.integers(min_value=1, max_value=2**63), max_size=8))
def test_any_list_of_server_ids_is_read_back(ids: list[int]) -> None:
    s = load_settings({**BASE, "ALLOWED_GUILDS": ",".join(map(str, ids))})
    assert s.allowed_guilds == frozenset(ids)
