"""Interactions the commands do not handle themselves, through the real stack: stale commands."""

from __future__ import annotations

import logging

import pytest

from tests.fakes import payloads
from tests.harness import Harness

EPHEMERAL = 64


def stale_menu() -> dict:
    """A message context menu this bot had once, still in a member's cached command list."""
    payload = payloads.message_menu(payloads.message_object([payloads.attachment()]))
    payload["data"]["name"] = "Remix with MusicAPI"
    return payload


@pytest.mark.parametrize(
    ("make", "locale", "expected"),
    [
        (lambda: payloads.slash("oldcommand"), "en-US", "This command is gone; Discord will refresh"),
        (lambda: payloads.slash("oldcommand", locale="de"), "de", "Diesen Befehl gibt es nicht mehr"),
        (stale_menu, "en-US", "This command is gone"),
    ],
    ids=["slash", "slash-de", "context-menu"],
)
async def test_a_command_the_bot_no_longer_has_gets_a_short_answer(
    harness: Harness, caplog: pytest.LogCaptureFixture, make, locale: str, expected: str
) -> None:
    payload = make()
    payload["locale"] = locale
    async with harness.running():
        caplog.set_level(logging.INFO)
        await harness.interact(payload)
        call = await harness.callback_of(payload)
    assert call.json["type"] == 4
    assert call.json["data"]["flags"] & EPHEMERAL
    assert call.json["data"]["content"].startswith(expected)
    assert harness.musicapi.uploads == []
    assert not [r for r in caplog.records if r.levelno >= logging.ERROR or r.exc_info]
    (line,) = [r.getMessage() for r in caplog.records if "no longer has" in r.getMessage()]
    assert payload["data"]["name"] in line


async def test_autocomplete_for_a_command_the_bot_no_longer_has_gets_no_choices(
    harness: Harness, caplog: pytest.LogCaptureFixture
) -> None:
    payload = payloads.slash("oldcommand", [{"name": "q", "type": 3, "value": "ab", "focused": True}])
    payload["type"] = 4
    async with harness.running():
        caplog.set_level(logging.INFO)
        await harness.interact(payload)
        call = await harness.callback_of(payload)
    assert call.json == {"type": 8, "data": {"choices": []}}
    assert not [r for r in caplog.records if r.levelno >= logging.ERROR or r.exc_info]
