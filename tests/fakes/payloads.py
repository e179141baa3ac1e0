"""INTERACTION_CREATE payloads shaped as Discord's gateway sends them."""

from __future__ import annotations

from typing import Any

from tests.fakes.discord_api import APP_ID, CHANNEL_ID, GUILD_ID, USER_ID, snowflake, user
from tests.fakes.discord_api import message as discord_message

CDN = "https://cdn.discordapp.com/attachments"


def attachment(
    filename: str = "song.mp3", content_type: str | None = "audio/mpeg", size: int = 1_000_000, **extra: Any
) -> dict[str, Any]:
    att_id = snowflake()
    url = f"{CDN}/{CHANNEL_ID}/{att_id}/{filename}?ex=6a1b2c3d&is=6a1a0000&hm=deadbeefsignature&"
    data: dict[str, Any] = {
        "id": str(att_id),
        "filename": filename,
        "size": size,
        "url": url,
        "proxy_url": url.replace("cdn.discordapp.com", "media.discordapp.net"),
        **extra,
    }
    if content_type is not None:
        data["content_type"] = content_type
    return data


def _base(
    kind: int, data: dict[str, Any], *, locale: str, guild: bool, user_id: int, token: str | None
) -> dict[str, Any]:
    interaction_id = snowflake()
    payload: dict[str, Any] = {
        "id": str(interaction_id),
        "application_id": str(APP_ID),
        "type": kind,
        "data": data,
        "token": token or f"itoken-{interaction_id}",
        "version": 1,
        "locale": locale,
        "app_permissions": "2248473465835073",
        "entitlements": [],
        "attachment_size_limit": 10485760,
        "channel_id": str(CHANNEL_ID),
    }
    if guild:
        payload.update(
            guild_id=str(GUILD_ID),
            guild_locale="en-US",
            context=0,
            authorizing_integration_owners={"0": str(GUILD_ID)},
            channel={
                "id": str(CHANNEL_ID),
                "type": 0,
                "guild_id": str(GUILD_ID),
                "name": "music",
                "position": 0,
                "permission_overwrites": [],
                "nsfw": False,
                "parent_id": None,
            },
            member={
                "user": user(user_id),
                "roles": [],
                "joined_at": "2025-01-01T00:00:00+00:00",
                "deaf": False,
                "mute": False,
                "flags": 0,
                "pending": False,
                "permissions": "2248473465835073",
                "nick": None,
            },
        )
    else:
        payload.update(
            context=1,
            authorizing_integration_owners={"1": str(user_id)},
            user=user(user_id),
            channel={"id": str(CHANNEL_ID), "type": 1, "recipients": [user(user_id)], "flags": 0},
        )
    return payload


def slash(
    name: str,
    options: list[dict[str, Any]] | None = None,
    *,
    attachments: list[dict[str, Any]] | None = None,
    locale: str = "en-US",
    guild: bool = True,
    user_id: int = USER_ID,
    token: str | None = None,
) -> dict[str, Any]:
    data: dict[str, Any] = {"id": str(snowflake()), "name": name, "type": 1, "options": options or []}
    if attachments:
        data["resolved"] = {"attachments": {a["id"]: a for a in attachments}}
    if guild:
        data["guild_id"] = str(GUILD_ID)
    return _base(2, data, locale=locale, guild=guild, user_id=user_id, token=token)


def upload(*, file: dict[str, Any] | None = None, url: str | None = None, **kwargs: Any) -> dict[str, Any]:
    """`/upload` with the given options, as a member would send it."""
    options: list[dict[str, Any]] = []
    if file is not None:
        options.append({"name": "file", "type": 11, "value": file["id"]})
    if url is not None:
        options.append({"name": "url", "type": 3, "value": url})
    return slash("upload", options, attachments=[file] if file else None, **kwargs)


def button(
    custom_id: str,
    *,
    message_content: str = "",
    locale: str = "en-US",
    user_id: int = USER_ID,
    message_flags: int = 64,
    components: list[dict[str, Any]] | None = None,
    guild: bool = True,
) -> dict[str, Any]:
    """A press of a button on a message the bot sent earlier (ephemeral unless `message_flags` says not),
    carrying the message's own components when given."""
    row = {"type": 1, "components": [{"type": 2, "style": 2, "label": "Older", "custom_id": custom_id}]}
    message = discord_message(
        {"content": message_content, "flags": message_flags}, type=20, components=components or [row]
    )
    payload = _base(
        3,
        {"custom_id": custom_id, "component_type": 2},
        locale=locale,
        guild=guild,
        user_id=user_id,
        token=None,
    )
    payload["message"] = message
    return payload


def select(
    custom_id: str,
    value: str,
    *,
    components: list[dict[str, Any]],
    locale: str = "en-US",
    user_id: int = USER_ID,
    message_flags: int = 0,
) -> dict[str, Any]:
    """A choice in a select menu (component type 3) of a message the bot sent, carrying its components."""
    message = discord_message({"content": "", "flags": message_flags}, type=20, components=components)
    payload = _base(
        3,
        {"custom_id": custom_id, "component_type": 3, "values": [value]},
        locale=locale,
        guild=True,
        user_id=user_id,
        token=None,
    )
    payload["message"] = message
    return payload


def modal_submit(
    modal: dict[str, Any],
    values: dict[int, str],
    *,
    locale: str = "en-US",
    user_id: int = USER_ID,
    guild: bool = True,
) -> dict[str, Any]:
    """The submit (type 5) of `modal`, the data of the bot's type 9 response, as Discord sends it:
    `values` maps the index of each label among the modal's components to what the member typed."""
    submitted: list[dict[str, Any]] = []
    for index, item in enumerate(modal["components"]):
        if item["type"] == 18:
            field = item["component"]
            submitted.append({
                "type": 18, "id": item.get("id", index + 1),
                "component": {"type": 4, "id": field.get("id", 100 + index), "custom_id": field["custom_id"],
                              "value": values.get(index, "")},
            })  # fmt: skip
        elif item["type"] == 10:
            submitted.append({"type": 10, "id": item.get("id", index + 1)})
    return _base(
        5,
        {"custom_id": modal["custom_id"], "components": submitted},
        locale=locale,
        guild=guild,
        user_id=user_id,
        token=None,
    )


def message_object(
    attachments: list[dict[str, Any]], *, channel_id: int = CHANNEL_ID, **extra: Any
) -> dict[str, Any]:
    """A message as Discord's API returns it (also how a context menu's target is resolved)."""
    author = user(USER_ID + 7, "producer")
    return discord_message(
        {"content": "new demo!"}, channel_id, author=author, attachments=attachments, **extra
    )


def forwarded_message(
    attachments: list[dict[str, Any]], *, own: list[dict[str, Any]] | None = None, **extra: Any
) -> dict[str, Any]:
    """A forward, as Discord's API returns it: the original's attachments live only in its snapshot."""
    snapshot = {
        "type": 0, "content": "", "embeds": [], "attachments": attachments,
        "timestamp": "2026-11-22T00:00:00+00:00", "edited_timestamp": None, "flags": 0,
        "mentions": [], "mention_roles": [], "components": [],
    }  # fmt: skip
    reference = {"type": 1, "message_id": str(snowflake()), "channel_id": str(CHANNEL_ID + 3)}
    return message_object(
        own or [], message_snapshots=[{"message": snapshot}], message_reference=reference, **extra
    )


def message_menu(message: dict[str, Any], name: str = "Upload to MusicAPI", **kwargs: Any) -> dict[str, Any]:
    """A message context menu (by default "Upload to MusicAPI"), used on `message`."""
    data: dict[str, Any] = {
        "id": str(snowflake()), "name": name, "type": 3, "target_id": message["id"],
        "resolved": {"messages": {message["id"]: message}},
    }  # fmt: skip
    guild = kwargs.pop("guild", True)
    if guild:
        data["guild_id"] = str(GUILD_ID)
    return _base(
        2,
        data,
        locale=kwargs.pop("locale", "en-US"),
        guild=guild,
        user_id=kwargs.pop("user_id", USER_ID),
        token=kwargs.pop("token", None),
    )
