"""The invite link: `--invite` prints it, the log names it, both with exactly the permissions the bot uses
(the integer the README lists)."""

from __future__ import annotations

import asyncio
import re
from pathlib import Path
from urllib.parse import parse_qs, urlsplit

import discord

from bot.discord_app.invite import PERMISSIONS, invite_url, permissions
from tests.bot.test_main import log_until_connected, run_bot
from tests.fakes.discord_api import APP_ID
from tests.harness import Harness

ROOT = Path(__file__).resolve().parents[2]
#: View Channels, Send Messages, Send Messages in Threads, Read Message History, Attach Files, Embed Links.
EXPECTED = (1 << 10) | (1 << 11) | (1 << 38) | (1 << 16) | (1 << 15) | (1 << 14)


def test_the_invite_asks_for_exactly_the_permissions_the_bot_uses() -> None:
    assert permissions().value == EXPECTED == 274878024704
    each = [discord.Permissions(**{name: True}).value for name, _ in PERMISSIONS]
    assert sum(each) == permissions().value and len(set(each)) == len(each)  # nothing beyond the list
    assert not permissions().administrator and not permissions().manage_messages


def test_the_readme_lists_each_permission_and_the_integer() -> None:
    readme = (ROOT / "README.md").read_text()
    assert f"permissions={EXPECTED}" in readme or f"`{EXPECTED}`" in readme
    for name, _ in PERMISSIONS:
        shown = discord.Permissions(**{name: True})
        label = {"view_channel": "View Channels", "send_messages": "Send Messages",
                 "send_messages_in_threads": "Send Messages in Threads",
                 "read_message_history": "Read Message History", "attach_files": "Attach Files",
                 "embed_links": "Embed Links"}[name]  # fmt: skip
        assert f"*{label}*" in readme, label
        assert shown.value & EXPECTED


async def test_invite_prints_the_url_of_the_tokens_application(harness: Harness) -> None:
    env = {k: v for k, v in harness.env().items() if k != "MUSICAPI_API_KEY"}  # needs the token only
    status, out, err = await invite(env, harness.tmp_path)
    assert (status, err) == (0, "")
    url = out.strip()
    assert url == invite_url(APP_ID)
    query = parse_qs(urlsplit(url).query)
    assert query["client_id"] == [str(APP_ID)] and query["permissions"] == [str(EXPECTED)]
    assert query["scope"] == ["bot applications.commands"]


async def test_invite_with_a_token_discord_refuses_says_so(harness: Harness) -> None:
    status, out, err = await invite(harness.env(DISCORD_TOKEN="not-the-token"), harness.tmp_path)
    assert status == 3 and out == ""
    assert "Discord rejected DISCORD_TOKEN" in err and "not-the-token" not in err


async def invite(env: dict[str, str], cwd: Path) -> tuple[int | None, str, str]:
    """`python -m bot --invite` against the fake Discord: exit status, stdout, stderr."""
    proc = await run_bot(env, cwd, launcher=True, argv=("--invite",))
    out, err = await asyncio.wait_for(proc.communicate(), 30)
    return proc.returncode, out.decode(), err.decode()


async def test_the_log_names_the_invite_link_once_connected(harness: Harness) -> None:
    lines = await log_until_connected(harness)
    rest = "\n".join(lines)
    (line,) = [line for line in lines if "invite link" in line]
    assert re.search(rf"client_id={APP_ID}&scope=bot\+applications\.commands&permissions={EXPECTED}$", line)
    assert rest.count("invite link") == 1
