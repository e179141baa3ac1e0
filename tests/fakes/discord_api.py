"""A loopback stand-in for Discord: the REST routes the bot uses, and a gateway that dispatches events.

It records every REST call, so tests assert on what the bot actually sent.
"""

from __future__ import annotations

import asyncio
import itertools
import json
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from aiohttp import BodyPartReader, WSMsgType, web

APP_ID = 900000000000000001
BOT_USER_ID = 900000000000000001
GUILD_ID = 800000000000000001
CHANNEL_ID = 700000000000000001
USER_ID = 600000000000000001
VALID_TOKEN = "test-bot-token"

_ids = itertools.count(1)


def snowflake() -> int:
    """A fresh id whose timestamp part is now (discord.py reads `created_at` from it)."""
    ms = int(time.time() * 1000) - 1420070400000
    return (ms << 22) | (next(_ids) & 0x3FFFFF)


#: What Discord takes per file when the interaction says nothing else (unboosted servers).
ATTACHMENT_LIMIT = 10 * 1024 * 1024
#: Discord's most files in one message.
MAX_FILES = 10


@dataclass(frozen=True)
class Upload:
    """One file of a multipart request: its form field (`files[0]`), file name, size and first bytes."""

    field: str
    filename: str
    size: int
    head: bytes = b""


@dataclass
class Call:
    method: str
    path: str
    json: Any
    headers: dict[str, str]
    query: dict[str, str]
    #: The files of a multipart request (its `payload_json` is `json`).
    files: list[Upload] = field(default_factory=list)


@dataclass
class FakeDiscord:
    """Routes answer like Discord; `fail` maps (method, path-prefix) to a status to answer with instead."""

    calls: list[Call] = field(default_factory=list)
    commands: dict[str, list[dict[str, Any]]] = field(default_factory=dict)
    messages: dict[int, dict[str, Any]] = field(default_factory=dict)
    guilds: dict[int, dict[str, Any]] = field(default_factory=dict)
    channels: dict[int, dict[str, Any]] = field(default_factory=dict)
    members: dict[tuple[int, int], dict[str, Any]] = field(default_factory=dict)
    fail: dict[tuple[str, str], tuple[int, dict[str, Any]]] = field(default_factory=dict)
    #: (method, path-prefix) -> seconds the answer takes (a slow edit, to interleave two of them).
    slow: dict[tuple[str, str], float] = field(default_factory=dict)
    #: Interactions that have their initial response; a second one is refused (40060), as Discord does.
    acknowledged: set[str] = field(default_factory=set)
    #: Interactions whose first response Discord applies but answers with a 500 all the same.
    applied_but_5xx: set[str] = field(default_factory=set)
    #: Deferred responses still "thinking", by token: whether the defer was ephemeral. Discord takes the
    #: first follow-up sent meanwhile for the deferred response itself, shown as the defer was (the
    #: follow-up's own flags are ignored); an edit or a deletion of the response ends the thinking too.
    thinking: dict[str, bool] = field(default_factory=dict)
    #: What each interaction (by token) shows now: "@original" and its follow-ups by id, each message as
    #: Discord shows it (its `flags` say whether it is ephemeral). A deleted response is gone from it.
    shown: dict[str, dict[str, dict[str, Any]]] = field(default_factory=dict)
    sockets: list[web.WebSocketResponse] = field(default_factory=list)
    #: The shard ([id, count]) each connected socket identified as.
    shard_of: dict[web.WebSocketResponse, tuple[int, int]] = field(default_factory=dict)
    #: How many shards GET /gateway/bot recommends.
    recommended_shards: int = 1
    identified: asyncio.Event = field(default_factory=asyncio.Event)
    new_call: asyncio.Condition = field(default_factory=asyncio.Condition)
    seq: int = 0
    accepting: bool = True
    refused_gateway: int = 0
    gateway_refused: asyncio.Event = field(default_factory=asyncio.Event)
    base_url: str = ""
    #: The type of each interaction dispatched (2 command, 3 component, 5 modal submit), by id.
    interaction_types: dict[str, int] = field(default_factory=dict)
    #: What GET /oauth2/applications/@me says about who owns the application.
    owner_id: int = USER_ID
    team: dict[str, Any] | None = None
    #: The largest file Discord takes in a message (per file), and what each message has attached now
    #: (keyed by `@original:<token>` or the message id), kept across edits as Discord keeps them.
    attachment_limit: int = ATTACHMENT_LIMIT
    #: DM channels opened (a DM takes ATTACHMENT_LIMIT per file, however boosted the server is).
    dm_channels: set[int] = field(default_factory=set)
    attached: dict[str, list[dict[str, Any]]] = field(default_factory=dict)
    #: Files members gave, served at /cdn/attachments/...: attachment id -> size.
    cdn: dict[str, int] = field(default_factory=dict)
    cdn_requests: list[str] = field(default_factory=list)

    # -- REST ---------------------------------------------------------------------------------------
    def app(self) -> web.Application:
        app = web.Application()
        app.router.add_route("*", "/api/v10/{path:.*}", self._rest)
        app.router.add_get("/cdn/attachments/{channel}/{id}/{name}", self._cdn)
        app.router.add_get("/gateway", self._gateway)
        return app

    async def _rest(self, request: web.Request) -> web.StreamResponse:
        path = "/" + request.match_info["path"]
        body: Any = None
        uploads: list[Upload] = []
        if request.can_read_body:
            if request.content_type.startswith("multipart/"):
                body, uploads = await read_multipart(request)
            else:
                raw = await request.read()
                if request.content_type == "application/json":
                    body = json.loads(raw)
        call = Call(request.method, path, body, dict(request.headers), dict(request.query), uploads)
        async with self.new_call:
            self.calls.append(call)
            self.new_call.notify_all()
        for (method, prefix), seconds in list(self.slow.items()):
            if request.method == method and path.startswith(prefix):
                await asyncio.sleep(seconds)
        for (method, prefix), (status, payload) in self.fail.items():
            if request.method == method and path.startswith(prefix):
                return _json(payload, status)
        parts = path.strip("/").split("/")
        refused = self._refuse_files(call)
        if refused is not None:
            return refused
        problem = invalid_body(request.method, parts, body)
        if problem is not None:
            errors = {"_errors": [{"code": "INVALID_FORM_BODY", "message": problem}]}
            return _json({"message": "Invalid Form Body", "code": 50035, "errors": errors}, 400)
        if request.method == "POST" and parts[:1] == ["interactions"] and parts[-1] == "callback":
            if (body or {}).get("type") == 9 and self.interaction_types.get(parts[1]) not in (2, 3):
                # A modal answers only a command or a component, never a modal submit (nor a defer).
                wrong = {
                    "type": {"_errors": [{"code": "INTERACTION_RESPONSE_TYPE_INVALID", "message": "modal"}]}
                }
                return _json({"message": "Invalid Form Body", "code": 50035, "errors": wrong}, 400)
            if parts[1] in self.acknowledged:
                return _json({"message": "Interaction has already been acknowledged.", "code": 40060}, 400)
            self.acknowledged.add(parts[1])
            response = body or {}
            flags = int((response.get("data") or {}).get("flags", 0))
            if response.get("type") == 5:
                self.thinking[parts[2]] = bool(flags & 64)
                self.shown.setdefault(parts[2], {})["@original"] = message({"flags": flags})
            elif response.get("type") == 4:
                self.shown.setdefault(parts[2], {})["@original"] = message(response.get("data") or {})
            if parts[1] in self.applied_but_5xx:
                return _json({"message": "500: Internal Server Error", "code": 0}, 500)
        if (
            not path.startswith(("/webhooks/", "/interactions/"))
            and request.headers.get("Authorization") != f"Bot {VALID_TOKEN}"
        ):
            return _json({"message": "401: Unauthorized", "code": 0}, 401)
        if request.method == "DELETE" and path.startswith("/webhooks/"):
            self.thinking.pop(parts[2], None)
            self.shown.get(parts[2], {}).pop("@original" if parts[-1] == "@original" else parts[-1], None)
            return web.Response(status=204)
        handler = self._route(request.method, path)
        if handler is None:
            return _json({"message": "404: Not Found", "code": 0}, 404)
        return _json(handler(call))

    def _route(self, method: str, path: str) -> Callable[[Call], Any] | None:
        parts = path.strip("/").split("/")
        if method == "GET" and path == "/users/@me":
            return lambda c: bot_user()
        if method == "GET" and path == "/oauth2/applications/@me":
            return lambda c: application(self.owner_id, self.team)
        if method == "GET" and path == "/gateway/bot":
            return lambda c: {
                "url": self.base_url.replace("http", "ws") + "/gateway",
                "shards": self.recommended_shards,
                "session_start_limit": {
                    "total": 1000,
                    "remaining": 999,
                    "reset_after": 0,
                    "max_concurrency": 1,
                },
            }
        if parts[:1] == ["applications"] and parts[-1] == "commands":
            key = "/".join(parts[2:-1]) or "global"
            if method == "GET":
                return lambda c: self.commands.get(key, [])
            if method == "PUT":
                return lambda c: self._put_commands(key, c.json)
        if parts[:1] == ["interactions"] and parts[-1] == "callback":
            return lambda c: {
                "interaction": {
                    "id": parts[1],
                    "type": 2,
                    "response_message_loading": c.json.get("type") == 5,
                    "response_message_ephemeral": bool((c.json.get("data") or {}).get("flags", 0) & 64),
                }
            }
        if parts[:1] == ["webhooks"] and method in ("PATCH", "POST"):
            return lambda c: self._webhook_message(c, parts[2], edits_original=parts[-1] == "@original")
        if parts[:1] == ["channels"] and parts[-1] == "messages" and method == "POST":
            return lambda c: self._message(c, None, channel_id=int(parts[1]))
        if parts[:1] == ["channels"] and len(parts) == 4 and parts[2] == "messages" and method == "GET":
            return _lookup(self.messages, int(parts[3]))
        if method == "GET" and parts[:1] == ["guilds"] and len(parts) == 2:
            return _lookup(self.guilds, int(parts[1]))
        if method == "GET" and parts[:1] == ["guilds"] and len(parts) == 4 and parts[2] == "members":
            return _lookup(self.members, (int(parts[1]), int(parts[3])))
        if method == "GET" and parts[:1] == ["channels"] and len(parts) == 2:
            return _lookup(self.channels, int(parts[1]))
        if path == "/users/@me/channels" and method == "POST":
            return self._open_dm
        return None

    def _put_commands(self, key: str, payload: list[dict[str, Any]]) -> list[dict[str, Any]]:
        stored = []
        for command in payload:
            item = {
                **command,
                "id": str(snowflake()),
                "application_id": str(APP_ID),
                "version": str(snowflake()),
            }
            item.setdefault("type", 1)
            item.setdefault("description", "")
            item.setdefault("default_member_permissions", None)
            stored.append(item)
        self.commands[key] = stored
        return stored

    def _open_dm(self, call: Call) -> dict[str, Any]:
        channel_id = snowflake()
        self.dm_channels.add(channel_id)
        return {"id": str(channel_id), "type": 1, "recipients": [user(int(call.json["recipient_id"]))]}

    # -- files -----------------------------------------------------------------------------------------
    def _limit_for(self, call: Call) -> int:
        """What Discord takes per file there: the server's limit, or the default in a DM."""
        parts = call.path.strip("/").split("/")
        in_dm = parts[:1] == ["channels"] and len(parts) > 1 and parts[1].isdigit()
        return ATTACHMENT_LIMIT if in_dm and int(parts[1]) in self.dm_channels else self.attachment_limit

    def _refuse_files(self, call: Call) -> web.Response | None:
        """What Discord refuses in a message's files: one over the limit (413), more than ten, an
        `attachments` entry or an `attachment://` name that matches no file of the request (50035)."""
        if not call.files:
            return None
        if any(f.size > self._limit_for(call) for f in call.files):
            return _json({"message": "Request entity too large", "code": 40005}, 413)
        payload = call.json if isinstance(call.json, dict) else {}
        problem = None
        if len(call.files) > MAX_FILES:
            problem = "a message holds at most 10 files"
        names = {f.filename for f in call.files}
        for item in payload.get("attachments") or []:
            index = item.get("id")
            if isinstance(index, int) and not (0 <= index < len(call.files)):
                problem = f"attachments[].id {index} names no file of the request"
        for ref in attachment_refs(payload):
            if ref not in names:
                problem = f"attachment://{ref} matches no file of the request"
        if problem is None:
            return None
        errors = {"attachments": {"_errors": [{"code": "INVALID_FORM_BODY", "message": problem}]}}
        return _json({"message": "Invalid Form Body", "code": 50035, "errors": errors}, 400)

    def _webhook_message(self, call: Call, token: str, *, edits_original: bool) -> dict[str, Any]:
        """A message of an interaction's webhook: its response edited, or a follow-up, which becomes the
        response itself while that is still "thinking" (see `thinking`)."""
        shown = self.shown.setdefault(token, {})
        ephemeral = self.thinking.pop(token, None)
        if edits_original or ephemeral is not None:
            before = shown.get("@original", {})
            msg = self._message(call, f"@original:{token}")
            # Whether a response is ephemeral is settled by its first response; an edit cannot change it.
            private = ephemeral if ephemeral is not None else bool(before.get("flags", 0) & 64)
            msg["flags"] = (msg["flags"] & ~64) | (64 if private else 0)
            shown["@original"] = msg
        else:
            msg = self._message(call, None)
            shown[msg["id"]] = msg
        return msg

    def visible(self, token: str) -> list[dict[str, Any]]:
        """The messages an interaction shows now, its response first."""
        shown = self.shown.get(token, {})
        return [m for key, m in sorted(shown.items(), key=lambda item: item[0] != "@original")]

    def _message(self, call: Call, key: str | None, channel_id: int = CHANNEL_ID) -> dict[str, Any]:
        """The message the request made or edited, with the attachments Discord would now show: an edit
        that lists `attachments` keeps those it names by id and adds its files; one that does not keeps
        what the message had."""
        payload = call.json if isinstance(call.json, dict) else {}
        before = self.attached.get(key, []) if key else []
        if "attachments" in payload or call.files or key is None:
            kept_ids = {
                str(a.get("id")) for a in payload.get("attachments") or [] if not isinstance(a.get("id"), int)
            }
            kept = [a for a in before if a["id"] in kept_ids]
            now = kept + [self._attachment(f, channel_id) for f in call.files]
        else:
            now = before
        msg = message(payload, channel_id=channel_id, attachments=now)
        self.attached[key or msg["id"]] = now
        return msg

    def _attachment(self, upload: Upload, channel_id: int) -> dict[str, Any]:
        att_id = snowflake()
        url = f"{self.base_url}/cdn/attachments/{channel_id}/{att_id}/{upload.filename}"
        self.cdn[str(att_id)] = upload.size
        return {
            "id": str(att_id),
            "filename": upload.filename,
            "size": upload.size,
            "url": url,
            "proxy_url": url,
        }

    async def _cdn(self, request: web.Request) -> web.StreamResponse:
        """Discord's CDN: the bytes of a file a member gave (as many as its size), or 404."""
        att_id = request.match_info["id"]
        self.cdn_requests.append(att_id)
        if att_id not in self.cdn:
            return web.Response(status=404, text="Not Found")
        return web.Response(body=file_bytes(self.cdn[att_id]), content_type="application/octet-stream")

    def files_of(self, key: str) -> list[str]:
        """The names of the files a message (`@original:<token>`, or its id) shows now."""
        return [a["filename"] for a in self.attached.get(key, [])]

    # -- what the bot sent ----------------------------------------------------------------------------
    def sent(self, method: str, prefix: str) -> list[Call]:
        return [c for c in self.calls if c.method == method and c.path.startswith(prefix)]

    async def wait_for(
        self,
        method: str,
        prefix: str,
        count: int = 1,
        timeout: float = 10.0,
        where: Callable[[Call], bool] = bool,
    ) -> list[Call]:
        """Wait until `count` matching calls were made; return all the matching ones."""

        def matching() -> list[Call]:
            return [c for c in self.sent(method, prefix) if where(c)]

        async with asyncio.timeout(timeout), self.new_call:
            await self.new_call.wait_for(lambda: len(matching()) >= count)
        return matching()

    # -- gateway ----------------------------------------------------------------------------------------
    async def _gateway(self, request: web.Request) -> web.StreamResponse:
        if not self.accepting:
            self.refused_gateway += 1
            self.gateway_refused.set()
            return web.Response(status=503)
        ws = web.WebSocketResponse()
        await ws.prepare(request)
        await ws.send_json({"op": 10, "d": {"heartbeat_interval": 41250}, "s": None, "t": None})
        self.sockets.append(ws)
        try:
            async for msg in ws:
                if msg.type != WSMsgType.TEXT:
                    continue
                data = json.loads(msg.data)
                if data["op"] == 1:
                    await ws.send_json({"op": 11, "d": None, "s": None, "t": None})
                elif data["op"] == 2:
                    if data["d"]["token"] != VALID_TOKEN:
                        await ws.close(code=4004, message=b"Authentication failed.")
                        break
                    shard_id, shard_count = data["d"].get("shard") or (0, 1)
                    self.shard_of[ws] = (shard_id, shard_count)
                    await self._dispatch(
                        ws,
                        "READY",
                        {
                            "v": 10,
                            "user": bot_user(),
                            "guilds": [],
                            "session_id": "fake-session",
                            "resume_gateway_url": self.base_url.replace("http", "ws") + "/gateway",
                            "application": {"id": str(APP_ID), "flags": 0},
                            "shard": [shard_id, shard_count],
                        },
                    )
                    self.identified.set()
        finally:
            if ws in self.sockets:
                self.sockets.remove(ws)
            self.shard_of.pop(ws, None)
        return ws

    async def _dispatch(self, ws: web.WebSocketResponse, event: str, data: dict[str, Any]) -> None:
        self.seq += 1
        await ws.send_json({"op": 0, "t": event, "s": self.seq, "d": data})

    async def dispatch(self, event: str, data: dict[str, Any]) -> None:
        """Send a gateway event (INTERACTION_CREATE...) as Discord does: an event of guild G only to the
        connections of shard `(G >> 22) % shard_count`, one without a guild (a DM) to shard 0."""
        if event == "INTERACTION_CREATE":
            self.interaction_types[str(data["id"])] = int(data["type"])
        for ws in list(self.sockets):
            if ws not in self.shard_of:
                continue  # not identified yet: Discord sends it nothing
            shard_id, shard_count = self.shard_of[ws]
            guild_id = data.get("guild_id")
            if shard_id == ((int(guild_id) >> 22) % shard_count if guild_id else 0):
                await self._dispatch(ws, event, data)

    async def redeliver(self, event: str, data: dict[str, Any]) -> None:
        """Send a gateway event to every identified connection, whatever its shard: one interaction
        delivered to two processes at once, as a shard handover or a resume can do."""
        if event == "INTERACTION_CREATE":
            self.interaction_types[str(data["id"])] = int(data["type"])
        await asyncio.gather(
            *(self._dispatch(ws, event, data) for ws in list(self.sockets) if ws in self.shard_of)
        )


async def read_multipart(request: web.Request) -> tuple[Any, list[Upload]]:
    """A multipart body as Discord reads it: `payload_json`, and each `files[n]` (counted, not kept)."""
    payload: Any = None
    uploads: list[Upload] = []
    reader = await request.multipart()
    while (part := await reader.next()) is not None:
        if not isinstance(part, BodyPartReader):
            continue
        if part.name == "payload_json":
            payload = json.loads(await part.text())
            continue
        size, head = 0, b""
        while chunk := await part.read_chunk(256 * 1024):
            head = head or chunk[:16]
            size += len(chunk)
        uploads.append(Upload(part.name or "", part.filename or "", size, head))
    return payload, uploads


def attachment_refs(payload: dict[str, Any]) -> list[str]:
    """The names an embed refers to as `attachment://<name>` (image, thumbnail, author and footer icons)."""
    refs = []
    for embed in payload.get("embeds") or []:
        for where in ("image", "thumbnail", "author", "footer"):
            item = embed.get(where) or {}
            for key in ("url", "icon_url"):
                value = item.get(key)
                if isinstance(value, str) and value.startswith("attachment://"):
                    refs.append(value.removeprefix("attachment://"))
    return refs


def file_bytes(size: int) -> bytes:
    """`size` bytes of a file (an MP3 header, then silence)."""
    head = b"ID3\x04\x00\x00\x00\x00\x00\x00"
    return (head + bytes(max(size - len(head), 0)))[:size]


def _lookup(table: dict[Any, dict[str, Any]], key: Any) -> Callable[[Call], Any] | None:
    if key not in table:
        return None
    return lambda c: table[key]


def _json(payload: Any, status: int = 200) -> web.Response:
    # discord.py parses a body as JSON only when the Content-Type is exactly this, without a charset.
    return web.Response(
        status=status, body=json.dumps(payload).encode(), headers={"Content-Type": "application/json"}
    )


def user(user_id: int = USER_ID, name: str = "member") -> dict[str, Any]:
    return {
        "id": str(user_id),
        "username": name,
        "discriminator": "0",
        "global_name": name.title(),
        "avatar": None,
        "public_flags": 0,
    }


def bot_user() -> dict[str, Any]:
    return {**user(BOT_USER_ID, "uploadbot"), "bot": True, "verified": True, "flags": 0, "mfa_enabled": False}


def application(owner_id: int = USER_ID, team: dict[str, Any] | None = None) -> dict[str, Any]:
    return {
        "id": str(APP_ID),
        "name": "Upload Bot",
        "description": "",
        "icon": None,
        "bot_public": True,
        "bot_require_code_grant": False,
        "owner": user(owner_id, "owner"),
        "verify_key": "00",
        "flags": 0,
        "team": team,
        "summary": "",
    }


def message(payload: dict[str, Any], channel_id: int = CHANNEL_ID, **fields: Any) -> dict[str, Any]:
    """A message object as Discord's API returns it; `fields` override the defaults."""
    return {
        "id": str(snowflake()),
        "channel_id": str(channel_id),
        "type": 0,
        "content": payload.get("content", ""),
        "author": bot_user(),
        "attachments": [],
        "embeds": [],
        "mentions": [],
        "mention_roles": [],
        "pinned": False,
        "mention_everyone": False,
        "tts": False,
        "timestamp": "2026-11-23T00:00:00+00:00",
        "edited_timestamp": None,
        "flags": payload.get("flags", 0),
        "components": [],
        **fields,
    }


def team_of(owner_id: int, *members: int) -> dict[str, Any]:
    """An application team as Discord returns it: the owner and members with their roles."""
    return {
        "id": str(snowflake()),
        "name": "Producers",
        "icon": None,
        "owner_user_id": str(owner_id),
        "members": [
            {"membership_state": 2, "team_id": "1", "user": user(m, f"dev{m % 100}"), "role": "admin"}
            for m in (owner_id, *members)
        ],
    }


# -- what Discord refuses with 50035 "Invalid Form Body" ----------------------------------------------------
def _text(value: Any, low: int, high: int) -> bool:
    return isinstance(value, str) and low <= len(value) <= high


def _invalid_button(button: Any) -> str | None:
    if not isinstance(button, dict) or button.get("type") != 2:
        return "an action row holds buttons (type 2) here"
    if button.get("style") == 5:
        return None if _text(button.get("url"), 1, 512) else "a link button needs a url"
    if button.get("style") not in (1, 2, 3, 4) or not _text(button.get("custom_id"), 1, 100):
        return "a button needs a style 1-4 and a custom_id of 1-100 characters"
    if "label" in button and not _text(button["label"], 0, 80):
        return "a button label is at most 80 characters"
    return None


def _invalid_select(select: Any) -> str | None:
    """A string select (type 3): custom_id 1-100, placeholder ≤150, 1-25 options of label and value 1-100
    (description ≤100), distinct values."""
    if not _text(select.get("custom_id"), 1, 100):
        return "a select menu needs a custom_id of 1-100 characters"
    if (
        "placeholder" in select
        and select["placeholder"] is not None
        and not _text(select["placeholder"], 0, 150)
    ):
        return "a select menu's placeholder is at most 150 characters"
    options = select.get("options")
    if not isinstance(options, list) or not 1 <= len(options) <= 25:
        return "a select menu offers 1-25 options"
    values = [o.get("value") if isinstance(o, dict) else None for o in options]
    for option in options:
        if not _text(option.get("label"), 1, 100) or not _text(option.get("value"), 1, 100):
            return "a select option needs a label and a value of 1-100 characters"
        if option.get("description") is not None and not _text(option["description"], 0, 100):
            return "a select option's description is at most 100 characters"
    if len(set(values)) != len(values):
        return "select option values must be unique"
    low, high = select.get("min_values", 1), select.get("max_values", 1)
    if not (isinstance(low, int) and isinstance(high, int) and 0 <= low <= high <= len(options)):
        return "a select menu's min_values/max_values must fit its options"
    return None


def invalid_components(components: Any) -> str | None:
    """Message components: at most 5 action rows, each of 1-5 buttons or one select menu alone; unique
    custom_ids."""
    if components is None:
        return None
    if not isinstance(components, list) or len(components) > 5:
        return "at most 5 action rows"
    seen: set[str] = set()
    for row in components:
        if not isinstance(row, dict) or row.get("type") != 1:
            return "top-level components of a message without the V2 flag are action rows"
        items = row.get("components")
        if not isinstance(items, list) or not 1 <= len(items) <= 5:
            return "an action row holds 1-5 components"
        for item in items:
            is_select = isinstance(item, dict) and item.get("type") == 3
            if is_select and len(items) != 1:
                return "a select menu takes an action row of its own"
            problem = _invalid_select(item) if is_select else _invalid_button(item)
            if problem is not None:
                return problem
            custom_id = item.get("custom_id")
            if custom_id in seen:
                return "custom_ids must be unique"
            if custom_id:
                seen.add(custom_id)
    return None


def _invalid_text_input(item: Any, in_label: bool) -> str | None:
    if not isinstance(item, dict) or item.get("type") != 4:
        return "a label holds a text input (type 4) here"
    if not _text(item.get("custom_id"), 1, 100) or item.get("style") not in (1, 2):
        return "a text input needs a custom_id of 1-100 characters and style 1 or 2"
    if in_label and item.get("label") is not None:
        return "a text input inside a label has no label of its own"
    if not in_label and not _text(item.get("label"), 1, 45):
        return "a text input in an action row needs a label of 1-45 characters"
    low, high = item.get("min_length", 0), item.get("max_length", 4000)
    if not (isinstance(low, int) and isinstance(high, int) and 0 <= low <= 4000 and 1 <= high <= 4000):
        return "text input lengths are 0-4000"
    if "placeholder" in item and not _text(item["placeholder"], 0, 100):
        return "a placeholder is at most 100 characters"
    if "value" in item and not _text(item["value"], 0, 4000):
        return "a value is at most 4000 characters"
    return None


def invalid_modal(data: Any) -> str | None:
    """A modal (interaction response type 9): title 1-45, custom_id 1-100, 1-5 labels or text displays."""
    if not isinstance(data, dict) or not _text(data.get("title"), 1, 45):
        return "a modal needs a title of 1-45 characters"
    if not _text(data.get("custom_id"), 1, 100):
        return "a modal needs a custom_id of 1-100 characters"
    components = data.get("components")
    if not isinstance(components, list) or not 1 <= len(components) <= 5:
        return "a modal holds 1-5 components"
    for item in components:
        kind = item.get("type") if isinstance(item, dict) else None
        if kind == 18:
            if not _text(item.get("label"), 1, 45):
                return "a label's text is 1-45 characters"
            if "description" in item and not _text(item["description"], 0, 100):
                return "a label's description is at most 100 characters"
            problem = _invalid_text_input(item.get("component"), in_label=True)
        elif kind == 10:
            problem = (
                None if _text(item.get("content"), 1, 4000) else "a text display holds 1-4000 characters"
            )
        elif kind == 1:
            inner = item.get("components") or [None]
            problem = (
                _invalid_text_input(inner[0], in_label=False) if len(inner) == 1 else "one input per row"
            )
        else:
            problem = "a modal holds labels, text displays or action rows"
        if problem is not None:
            return problem
    return None


def invalid_body(method: str, parts: list[str], body: Any) -> str | None:
    """What Discord would refuse in a message or an interaction response the bot sends."""
    if not isinstance(body, dict):
        return None
    if method == "POST" and parts[:1] == ["interactions"] and parts[-1] == "callback":
        data = body.get("data")
        if body.get("type") == 9:
            return invalid_modal(data)
        if isinstance(data, dict):
            return invalid_components(data.get("components"))
        return None
    if parts[:1] in (["webhooks"], ["channels"]) and method in ("POST", "PATCH"):
        if "content" in body and body["content"] is not None and not _text(body["content"], 0, 2000):
            return "content is at most 2000 characters"
        return invalid_components(body.get("components"))
    return None
