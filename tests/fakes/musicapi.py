"""A loopback MusicAPI following ../shared/musicapi.md, failures included.

Tests queue scripted answers with `script(...)`; without one, an upload succeeds after `delay` seconds.
"""

from __future__ import annotations

import asyncio
import hashlib
import hmac
import itertools
import json
import time
import uuid
from collections import deque
from dataclasses import dataclass, field
from typing import Any, Literal

import aiohttp
from aiohttp import web

from tests.fakes.discord_api import file_bytes

API_KEY = "test-musicapi-key"
#: What one create (extend, cover, add_vocals, add_instrumental, remaster) costs.
CREATE_COST = 15
#: MusicAPI's current models, and the retired ids it still takes (mapped to its current model).
MODELS = ("sonic-v6", "sonic-v6-wild", "sonic-v6-mini")
RETIRED_MODELS = ("sonic-v3-5", "sonic-v4", "sonic-v4-5", "sonic-v4-5-plus", "sonic-v5")
#: Task types on uploaded clips only (add_* only within 24 hours of the upload), and on generated songs only.
UPLOAD_TASKS = ("extend_upload_music", "cover_upload_music", "add_vocals", "add_instrumental")
SONG_TASKS = ("extend_music", "cover_music", "remaster")
DAY = 24 * 60 * 60
#: What the calls on a song cost (musicapi.md's defaults).
SONIC_COSTS = {"stems/basic": 30, "wav": 2, "midi": 1, "bpm": 1}
MASHUP_COST = 14


@dataclass
class Answer:
    """One scripted answer: a status and JSON body, raw text, a dropped connection, or a slow reply."""

    status: int = 200
    body: Any = None
    text: str | None = None
    drop: bool = False
    delay: float = 0.0
    headers: dict[str, str] = field(default_factory=dict)


#: What the fake's CDN serves for a song's audio and cover art unless a test says otherwise.
SONG_BYTES = 48 * 1024
IMAGE_BYTES = 4 * 1024
#: ... and for a stem's audio, a WAV and a MIDI file.
STEM_BYTES = 40 * 1024
WAV_BYTES = 160 * 1024
MIDI_BYTES = 2 * 1024


@dataclass
class Served:
    """A file on the fake's CDN: its size, or the trouble a test chose. `declared`: the Content-Length
    sent (a lie when it differs from `size`; None: none at all, the body chunked); `status`: an error
    instead; `hang`: never answers; `redirect`: a 302 to that URL."""

    size: int = SONG_BYTES
    declared: int | Literal["size"] | None = "size"
    status: int = 200
    hang: bool = False
    redirect: str | None = None
    #: Seconds before the answer starts.
    delay: float = 0.0


@dataclass
class FakeMusicAPI:
    delay: float = 0.0
    #: When set to an Event, upload requests (past `delay`) wait until it is set: MusicAPI still working
    #: on each one for as long as the test needs, then answering.
    gate: asyncio.Event | None = None
    answers: deque[Answer] = field(default_factory=deque)
    uploads: list[dict[str, Any]] = field(default_factory=list)
    polls: list[str] = field(default_factory=list)
    tasks: dict[str, dict[str, Any]] = field(default_factory=dict)
    task_answers: dict[str, deque[dict[str, Any]]] = field(default_factory=dict)
    #: Scripted answers to task lookups (GET), taken before anything else.
    poll_answers: deque[Answer] = field(default_factory=deque)
    #: Upload requests MusicAPI is working on now, and the most it ever worked on at once.
    busy: int = 0
    most_busy: int = 0
    auth_headers: list[str] = field(default_factory=list)
    content_types: list[str] = field(default_factory=list)
    _counter: itertools.count[int] = field(default_factory=itertools.count)
    _arrived: asyncio.Condition = field(default_factory=asyncio.Condition)
    # -- follow-ups (sonic/create), get-credits ---------------------------------------------------------
    #: The account's credits: a create takes CREATE_COST, a failed generation gives them back.
    credits: int = 1000
    extra_credits: int = 0
    #: Bodies of create requests, in order; scripted answers to them, taken first.
    creates: list[dict[str, Any]] = field(default_factory=list)
    create_answers: deque[Answer] = field(default_factory=deque)
    #: Create tasks: task id -> the create body. Scripted task bodies per task id (the last one repeats).
    generations: dict[str, dict[str, Any]] = field(default_factory=dict)
    generation_answers: dict[str, deque[dict[str, Any]]] = field(default_factory=dict)
    #: How a create task ends when nothing is scripted: "succeeded" (two songs), "failed", or "running".
    generation_outcome: str = "succeeded"
    #: Clips MusicAPI knows as uploads and as generated songs: the `_upload_` task types take only the
    #: former, extend_music and cover_music only the latter.
    uploaded_clips: set[str] = field(default_factory=set)
    generated_clips: set[str] = field(default_factory=set)
    #: When each clip was uploaded or made (unix seconds); tests age a clip by moving it back.
    clip_times: dict[str, float] = field(default_factory=dict)
    #: Calls on a song (stems/basic, wav, midi, bpm): (endpoint, body), in order; scripted answers first.
    sonic_calls: list[tuple[str, dict[str, Any]]] = field(default_factory=list)
    sonic_answers: deque[Answer] = field(default_factory=deque)
    #: Bodies of mashup requests, in order.
    mashups: list[dict[str, Any]] = field(default_factory=list)
    #: Stems one stems task yields; "generating" answers a MIDI request gets before its file.
    stem_count: int = 2
    midi_interim: int = 1
    _midi_asked: dict[str, int] = field(default_factory=dict)
    credit_checks: int = 0
    #: Scripted answers to get-credits, taken first.
    credits_answers: deque[Answer] = field(default_factory=deque)
    _created: asyncio.Condition = field(default_factory=asyncio.Condition)
    # -- the CDN: the files its answers name (songs' audio and cover art, stems, WAV, MIDI), at /files/<name>
    #: Where this fake listens (its answers' file URLs start with it); set by whoever serves it.
    base_url: str = ""
    files: dict[str, Served] = field(default_factory=dict)
    #: Names of the files asked for, in order; and the most asked for at once.
    file_requests: list[str] = field(default_factory=list)
    files_busy: int = 0
    most_files_busy: int = 0
    #: The size of each song's audio a finished task names (a test may make them larger).
    song_bytes: int = SONG_BYTES
    #: ... of each stem's audio, of a WAV and of a MIDI file.
    stem_bytes: int = STEM_BYTES
    wav_bytes: int = WAV_BYTES
    midi_bytes: int = MIDI_BYTES

    async def wait_for_uploads(self, count: int = 1, within: float = 10.0) -> None:
        """Until MusicAPI has received `count` upload requests."""
        async with asyncio.timeout(within), self._arrived:
            await self._arrived.wait_for(lambda: len(self.uploads) >= count)

    def app(self) -> web.Application:
        app = web.Application()
        app.router.add_post("/api/v1/sonic/upload", self._upload)
        app.router.add_get("/api/v1/sonic/task/{task_id}", self._task)
        app.router.add_post("/api/v1/sonic/create", self._create)
        app.router.add_get("/api/v1/get-credits", self._credits)
        app.router.add_get("/files/{name}", self._file)
        app.router.add_post("/api/v1/sonic/mashup", self._mashup)
        for endpoint in SONIC_COSTS:
            app.router.add_post(f"/api/v1/sonic/{endpoint}", self._sonic)
        return app

    def file_url(self, name: str) -> str:
        """Where the fake's CDN serves `name` (registered with `files[name] = Served(...)`)."""
        return f"{self.base_url or 'https://cdn.musicapi.example'}/files/{name}"

    async def _file(self, request: web.Request) -> web.StreamResponse:
        name = request.match_info["name"]
        self.file_requests.append(name)
        served = self.files.get(name)
        if served is None:
            return web.Response(status=404, text="Not Found")
        self.files_busy += 1
        self.most_files_busy = max(self.most_files_busy, self.files_busy)
        try:
            return await self._serve(request, served)
        finally:
            self.files_busy -= 1

    async def _serve(self, request: web.Request, served: Served) -> web.StreamResponse:
        if served.hang:
            await asyncio.sleep(3600)
        await asyncio.sleep(served.delay)
        if served.redirect is not None:
            raise web.HTTPFound(served.redirect)
        if served.status != 200:
            return web.Response(status=served.status, text="error")
        body = file_bytes(served.size)
        declared = served.size if served.declared == "size" else served.declared
        if declared is not None and declared < served.size:
            # A length that lies: the header promises less than the body that follows.
            assert request.transport is not None
            head = f"HTTP/1.1 200 OK\r\nContent-Type: audio/mpeg\r\nContent-Length: {declared}\r\n\r\n"
            request.transport.write(head.encode() + body)
            await asyncio.sleep(0.2)
            request.transport.close()
            raise asyncio.CancelledError
        response = web.StreamResponse(headers={"Content-Type": "audio/mpeg"})
        if declared is not None:
            response.content_length = declared
        else:
            response.enable_chunked_encoding()
        await response.prepare(request)
        for start in range(0, len(body), 256 * 1024):
            await response.write(body[start : start + 256 * 1024])
        await response.write_eof()
        return response

    def script(self, *answers: Answer) -> None:
        self.answers.extend(answers)

    async def _upload(self, request: web.Request) -> web.StreamResponse:
        self.auth_headers.append(request.headers.get("Authorization", ""))
        self.content_types.append(request.headers.get("Content-Type", ""))
        if request.headers.get("Authorization") != f"Bearer {API_KEY}":
            return web.json_response({"code": 401, "message": "Invalid authorization format."}, status=401)
        body = await request.json()
        async with self._arrived:
            self.uploads.append(body)
            self._arrived.notify_all()
        self.busy += 1
        self.most_busy = max(self.most_busy, self.busy)
        try:
            return await self._upload_answer(request, body)
        finally:
            self.busy -= 1

    async def _upload_answer(self, request: web.Request, body: dict[str, Any]) -> web.StreamResponse:
        answer = self.answers.popleft() if self.answers else None
        if answer is None:
            await asyncio.sleep(self.delay)
            if self.gate is not None:
                await self.gate.wait()
            n = next(self._counter)
            if body.get("callback_url"):
                task_id = f"task-{n}-{uuid.uuid4().hex[:8]}"
                self.tasks[task_id] = {"callback_url": body["callback_url"], "url": body["url"]}
                return web.json_response({"code": 200, "task_id": task_id, "message": "success"})
            self.uploaded_clips.add(clip_id_for(n))
            self.clip_times[clip_id_for(n)] = time.time()
            return web.json_response({"code": 200, "clip_id": clip_id_for(n), "message": "success"})
        return await self._answer(request, answer)

    async def _task(self, request: web.Request) -> web.StreamResponse:
        task_id = request.match_info["task_id"]
        self.polls.append(task_id)
        if self.poll_answers:
            return await self._answer(request, self.poll_answers.popleft())
        if task_id in self.generations:
            return web.json_response(self.generation_body(task_id))
        queued = self.task_answers.get(task_id)
        if queued:
            return web.json_response(queued.popleft() if len(queued) > 1 else queued[0])
        if task_id not in self.tasks:
            return web.json_response({"code": 400, "message": "task not found."}, status=400)
        return web.json_response(
            {"code": 200, "data": [{"clip_id": "", "state": "running"}], "message": "success"}
        )

    async def _answer(self, request: web.Request, answer: Answer) -> web.StreamResponse:
        if answer.delay:
            await asyncio.sleep(answer.delay)
        if answer.drop:
            assert request.transport is not None
            request.transport.abort()
            raise asyncio.CancelledError
        if answer.text is not None:
            return web.Response(
                status=answer.status, text=answer.text, content_type="text/html", headers=answer.headers
            )
        return web.Response(
            status=answer.status,
            text=json.dumps(answer.body),
            content_type="application/json",
            headers=answer.headers,
        )

    # -- sonic/create ---------------------------------------------------------------------------------
    async def wait_for_creates(self, count: int = 1, within: float = 10.0) -> None:
        async with asyncio.timeout(within), self._created:
            await self._created.wait_for(lambda: len(self.creates) >= count)

    async def _create(self, request: web.Request) -> web.StreamResponse:
        if request.headers.get("Authorization") != f"Bearer {API_KEY}":
            return web.json_response({"code": 401, "message": "Invalid authorization format."}, status=401)
        body = await request.json()
        async with self._created:
            self.creates.append(body)
            self._created.notify_all()
        if self.create_answers:
            return await self._answer(request, self.create_answers.popleft())
        problem = self._invalid_create(body)
        if problem:
            return web.json_response({"code": 400, "message": problem}, status=400)
        if self.credits + self.extra_credits < CREATE_COST:
            return web.json_response(
                {"code": 403, "message": "The remaining credits are not enough. You can buy more one-time "
                 "credit packs or subscribe."},
                status=403,
            )  # fmt: skip
        self.credits -= CREATE_COST
        task_id = f"gen-{next(self._counter)}-{uuid.uuid4().hex[:8]}"
        self.generations[task_id] = body
        return web.json_response({"code": 200, "task_id": task_id, "message": "success"})

    def _invalid_create(self, body: dict[str, Any]) -> str | None:
        """MusicAPI's 400s for a create body that does not follow musicapi.md."""
        kind = body.get("task_type")
        if kind not in UPLOAD_TASKS + SONG_TASKS:
            return "task_type is invalid."
        clip = body.get("continue_clip_id")
        if not isinstance(clip, str) or not clip:
            return "continue_clip_id is required."
        if kind in UPLOAD_TASKS and clip in self.generated_clips:
            return "continue_clip_id is not an uploaded clip."
        if kind in SONG_TASKS and clip in self.uploaded_clips:
            return "continue_clip_id is an uploaded clip: use extend_upload_music or cover_upload_music."
        if kind.startswith("add_") and time.time() - self.clip_times.get(clip, time.time()) > DAY:
            return "continue_clip_id must be uploaded within the last 24 hours."
        if body.get("mv") not in MODELS + RETIRED_MODELS:
            return "The 'mv' field is invalid."
        if kind != "remaster" and not isinstance(body.get("custom_mode"), bool):
            return "custom_mode must be a boolean."
        if kind == "add_vocals" and not body.get("prompt"):
            return "prompt is required."
        limit = 3000 if body["mv"] in ("sonic-v3-5", "sonic-v4") else 5000
        if len(str(body.get("prompt", ""))) > limit:
            return f"prompt is longer than {limit} characters."
        if kind.startswith("extend"):
            at = body.get("continue_at")
            if not isinstance(at, int | float) or at < 0:
                return "continue_at must be a number of seconds."
        weight = body.get("audio_weight")
        if weight is not None and (not isinstance(weight, int | float) or not 0 <= weight <= 1):
            return "audio_weight must be between 0 and 1."
        return None

    # -- stems/basic, wav, midi, bpm ------------------------------------------------------------------
    def _refuse_clip(self, endpoint: str, clip: Any) -> str | None:
        """MusicAPI's 400s: these take songs it made (wav any clip it knows); MIDI only from the last day."""
        if not isinstance(clip, str) or not clip:
            return "clip_id is required."
        if endpoint != "wav" and clip not in self.generated_clips:
            return "clip_id must be a clip generated by our service."
        if clip not in self.generated_clips | self.uploaded_clips:
            return "clip not found."
        if endpoint == "midi" and time.time() - self.clip_times.get(clip, time.time()) > DAY:
            return "MIDI is only available for the latest clip id in 24 hours."
        return None

    async def _sonic(self, request: web.Request) -> web.StreamResponse:
        if request.headers.get("Authorization") != f"Bearer {API_KEY}":
            return web.json_response({"code": 401, "message": "Invalid authorization format."}, status=401)
        endpoint = request.path.removeprefix("/api/v1/sonic/")
        body = await request.json()
        self.sonic_calls.append((endpoint, body))
        if self.sonic_answers:
            return await self._answer(request, self.sonic_answers.popleft())
        clip = body.get("clip_id")
        problem = self._refuse_clip(endpoint, clip)
        if problem:
            return web.json_response({"code": 400, "message": problem}, status=400)
        asked = self._midi_asked.get(clip, 0) if endpoint == "midi" else 0
        if asked == 0 or endpoint != "midi":  # a repeat of a MIDI request being made costs nothing more
            if self.credits + self.extra_credits < SONIC_COSTS[endpoint]:
                return web.json_response(
                    {"code": 403, "message": "The remaining credits are not enough."}, status=403
                )
            self.credits -= SONIC_COSTS[endpoint]
        if endpoint == "stems/basic":
            task_id = f"stems-{next(self._counter)}-{uuid.uuid4().hex[:8]}"
            self.generations[task_id] = {**body, "_stems": True}
            return web.json_response({"task_id": task_id, "message": "success"})
        if endpoint == "wav":
            self.files.setdefault(f"{clip}.wav", Served(self.wav_bytes))
            return web.json_response({"code": 200, "data": {"wav_url": self.file_url(f"{clip}.wav")}})
        if endpoint == "bpm":
            return web.json_response(
                {"code": 200, "data": {"avg_bpm": 122.4, "max_bpm": 124.1, "min_bpm": 120.2}}
            )
        self._midi_asked[clip] = asked + 1
        if asked < self.midi_interim:
            return web.json_response({"code": 200, "message": "generating midi...", "data": {"midi_url": ""}})
        instruments = [
            {"name": "Synth Voice", "notes": [{"start": 0.52, "end": 0.91, "pitch": 64, "velocity": 0.8}]},
            {"name": "Bass", "notes": []},
        ]
        self.files.setdefault(f"{clip}.mid", Served(self.midi_bytes))
        return web.json_response({
            "code": 200, "data": {"midi_url": self.file_url(f"{clip}.mid"), "instruments": instruments}
        })  # fmt: skip

    async def _mashup(self, request: web.Request) -> web.StreamResponse:
        """Exactly two clips it knows (uploads worked in a client), lyrics or a description, a valid model;
        the task id inside `data` (one of the shapes musicapi.md says to accept)."""
        if request.headers.get("Authorization") != f"Bearer {API_KEY}":
            return web.json_response({"code": 401, "message": "Invalid authorization format."}, status=401)
        body = await request.json()
        self.mashups.append(body)
        clips = body.get("mashup_clip_ids")
        problem = None
        if not isinstance(clips, list) or len(clips) != 2 or len(set(map(str, clips))) != 2:
            problem = "mashup_clip_ids must be exactly two clip ids."
        elif not set(clips) <= self.generated_clips | self.uploaded_clips:
            problem = "clip not found."
        elif not (body.get("prompt") or body.get("gpt_description_prompt")):
            problem = "prompt or gpt_description_prompt is required."
        elif body.get("mv") not in MODELS + RETIRED_MODELS:
            problem = "The 'mv' field is invalid."
        elif not isinstance(body.get("custom_mode"), bool):
            problem = "custom_mode must be a boolean."
        if problem:
            return web.json_response({"code": 400, "message": problem}, status=400)
        self.credits -= MASHUP_COST
        task_id = f"mash-{next(self._counter)}-{uuid.uuid4().hex[:8]}"
        self.generations[task_id] = body
        return web.json_response({"code": 200, "data": {"task_id": task_id}})

    def stems(self, task_id: str) -> dict[str, Any]:
        """A stems task's result: one clip per stem, named by its title's suffix (and `stem_type`)."""
        names = ["Vocals", "Instrumental", "Drums", "Bass", "Other"][: self.stem_count]
        names += [f"Part {n}" for n in range(len(names) + 1, self.stem_count + 1)]
        data = []
        for n, name in enumerate(names, start=1):
            clip = f"{task_id}-stem-{n}"
            self.generated_clips.add(clip)
            self.files.setdefault(f"{clip}.mp3", Served(self.stem_bytes))
            data.append({
                "clip_id": clip, "state": "succeeded", "title": f"Night Drive - {name}",
                "stem_type": name.lower(), "audio_url": self.file_url(f"{clip}.mp3"),
            })  # fmt: skip
        return {"code": 200, "task_id": task_id, "data": data}

    def generation_body(self, task_id: str) -> dict[str, Any]:
        """The task as MusicAPI reports it now: scripted, else `generation_outcome`."""
        queued = self.generation_answers.get(task_id)
        if queued:
            return queued.popleft() if len(queued) > 1 else queued[0]
        if self.generation_outcome == "succeeded":
            if self.generations.get(task_id, {}).get("_stems"):
                return self.stems(task_id)
            return self.finished(task_id)
        if self.generation_outcome == "failed":
            return self.failed(task_id)
        return {"code": 200, "task_id": task_id, "message": "success",
                "data": [{"clip_id": "", "state": "running"}, {"clip_id": "", "state": "running"}]}  # fmt: skip

    def finished(self, task_id: str, count: int = 2) -> dict[str, Any]:
        """Two songs (usually), each with clip_id, state, title, tags, audio_url, image_url, duration."""
        songs = []
        for i in range(count):
            clip = f"{task_id}-song-{i + 1}"
            self.generated_clips.add(clip)
            self.files.setdefault(f"{clip}.mp3", Served(self.song_bytes))
            self.files.setdefault(f"{clip}.jpg", Served(IMAGE_BYTES))
            self.clip_times.setdefault(clip, time.time())
            songs.append({
                "clip_id": clip, "state": "succeeded", "title": f"Night Drive ({i + 1})",
                "tags": "lo-fi, mellow", "audio_url": self.file_url(f"{clip}.mp3"),
                "image_url": self.file_url(f"{clip}.jpg"), "duration": 125.4 + i,
                "created_at": "2026-11-24T12:00:00Z", "mv": self.generations.get(task_id, {}).get("mv"),
            })  # fmt: skip
        return {"code": 200, "task_id": task_id, "message": "success", "data": songs}

    def failed(self, task_id: str, reason: str = "Generation failed.") -> dict[str, Any]:
        """A failed generation: MusicAPI refunds its credits."""
        if task_id in self.generations and not self.generations[task_id].get("_refunded"):
            self.generations[task_id]["_refunded"] = True
            made = self.generations[task_id]
            cost = SONIC_COSTS["stems/basic"] if made.get("_stems") else CREATE_COST
            self.credits += MASHUP_COST if "mashup_clip_ids" in made else cost
        return {"code": 200, "task_id": task_id, "message": "success",
                "data": [{"clip_id": "", "state": "failed", "error_message": reason, "message": reason}]}  # fmt: skip

    async def _credits(self, request: web.Request) -> web.StreamResponse:
        self.credit_checks += 1
        if self.credits_answers:
            return await self._answer(request, self.credits_answers.popleft())
        if request.headers.get("Authorization") != f"Bearer {API_KEY}":
            return web.json_response({"code": 401, "message": "Authorization header is missing."}, status=401)
        return web.json_response({"credits": self.credits, "extra_credits": self.extra_credits})

    async def send_webhook(
        self,
        task_id: str,
        body: dict[str, Any],
        *,
        webhook_id: str | None = None,
        signed: bool = True,
    ) -> tuple[int, str]:
        """POST a task webhook to the create's webhook_url, signed with its webhook_secret when it gave one."""
        create = self.generations[task_id]
        raw = json.dumps(body).encode()
        ts = str(int(time.time()))
        headers = {
            "Content-Type": "application/json",
            "X-Webhook-Id": webhook_id or f"evt-{uuid.uuid4().hex}",
            "X-Webhook-Event": "task.completed",
            "X-Webhook-Timestamp": ts,
        }
        if signed and create.get("webhook_secret"):
            digest = hmac.new(create["webhook_secret"].encode(), ts.encode() + b"." + raw, hashlib.sha256)
            headers["X-Webhook-Signature"] = f"sha256={digest.hexdigest()}"
        async with (
            aiohttp.ClientSession() as session,
            session.post(create["webhook_url"], data=raw, headers=headers) as resp,
        ):
            return resp.status, await resp.text()

    async def send_callback(
        self,
        task_id: str,
        body: dict[str, Any],
        *,
        url: str | None = None,
        headers: dict[str, str] | None = None,
    ) -> tuple[int, str]:
        """POST a callback to the bot the way MusicAPI would; return the bot's status and body."""
        target = url or self.tasks[task_id]["callback_url"]
        async with (
            aiohttp.ClientSession() as session,
            session.post(
                target, data=json.dumps(body), headers={"Content-Type": "application/json", **(headers or {})}
            ) as resp,
        ):
            return resp.status, await resp.text()


def clip_id_for(n: int) -> str:
    return f"c1a2b3c4-0000-4000-8000-{n:012d}"


def flat_callback(task_id: str, clip_id: str) -> dict[str, Any]:
    return {"code": 200, "task_id": task_id, "clip_id": clip_id, "message": "success"}


def task_callback(task_id: str, clip_id: str, state: str = "succeeded") -> dict[str, Any]:
    return {
        "code": 200,
        "task_id": task_id,
        "message": "success",
        "data": [{"clip_id": clip_id, "state": state, "title": "", "tags": "", "duration": 42.0}],
    }
