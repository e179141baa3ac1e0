"""A loopback MusicAPI following ../shared/musicapi.md, failures included.

Tests queue scripted answers with `script(...)`; without one, an upload succeeds after `delay` seconds.
"""

from __future__ import annotations

import asyncio
import itertools
import json
import uuid
from collections import deque
from dataclasses import dataclass, field
from typing import Any

import aiohttp
from aiohttp import web

API_KEY = "test-musicapi-key"


@dataclass
class Answer:
    """One scripted answer: a status and JSON body, raw text, a dropped connection, or a slow reply."""

    status: int = 200
    body: Any = None
    text: str | None = None
    drop: bool = False
    delay: float = 0.0
    headers: dict[str, str] = field(default_factory=dict)


@dataclass
class FakeMusicAPI:
    delay: float = 0.0
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

    async def wait_for_uploads(self, count: int = 1, within: float = 10.0) -> None:
        """Until MusicAPI has received `count` upload requests."""
        async with asyncio.timeout(within), self._arrived:
            await self._arrived.wait_for(lambda: len(self.uploads) >= count)

    def app(self) -> web.Application:
        app = web.Application()
        app.router.add_post("/api/v1/sonic/upload", self._upload)
        app.router.add_get("/api/v1/sonic/task/{task_id}", self._task)
        return app

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
            n = next(self._counter)
            if body.get("callback_url"):
                task_id = f"task-{n}-{uuid.uuid4().hex[:8]}"
                self.tasks[task_id] = {"callback_url": body["callback_url"], "url": body["url"]}
                return web.json_response({"code": 200, "task_id": task_id, "message": "success"})
            return web.json_response({"code": 200, "clip_id": clip_id_for(n), "message": "success"})
        return await self._answer(request, answer)

    async def _task(self, request: web.Request) -> web.StreamResponse:
        task_id = request.match_info["task_id"]
        self.polls.append(task_id)
        if self.poll_answers:
            return await self._answer(request, self.poll_answers.popleft())
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
