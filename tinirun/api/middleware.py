"""ASGI middleware of the API: a cap on request bodies (413) and a deadline for them (408),
and JSON bodies read as JSON whatever Content-Type the client sent (curl -d sends a form
type). Either refusal closes the connection, so the rest of the body is never read."""

from __future__ import annotations

import asyncio

from starlette.types import ASGIApp, Message, Receive, Scope, Send

JSON = b"application/json"


class ApiBodyMiddleware:
    """Refuses bodies over `max_bytes` with 413, bodies that take longer than `timeout`
    seconds to arrive with 408, and treats every POST body as JSON."""

    def __init__(self, app: ASGIApp, max_bytes: int, timeout: float = 30.0) -> None:
        self.app = app
        self.max_bytes = max_bytes
        self.timeout = timeout

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http" or scope["method"] not in ("POST", "PUT", "PATCH"):
            await self.app(scope, receive, send)
            return
        headers = [(k, v) for k, v in scope["headers"] if k != b"content-type"]
        declared = dict(scope["headers"]).get(b"content-length")
        if declared is not None and declared.isdigit() and int(declared) > self.max_bytes:
            await _refuse(send, 413, f"Request body larger than {self.max_bytes} bytes")
            return
        scope = {**scope, "headers": [*headers, (b"content-type", JSON)]}
        deadline = asyncio.get_running_loop().time() + self.timeout
        received = 0
        complete = False
        refused = False
        started = False

        async def limited() -> Message:
            nonlocal received, refused, complete
            if complete or refused:
                return await receive()  # after the body: only a hang-up can come
            try:
                async with asyncio.timeout_at(deadline):
                    message = await receive()
            except TimeoutError:
                refused = True
                if not started:
                    await _refuse(send, 408, f"The request body did not arrive within "
                                             f"{self.timeout:g} seconds")
                return {"type": "http.disconnect"}
            if message["type"] == "http.request":
                received += len(message.get("body", b""))
                complete = not message.get("more_body", False)
                if received > self.max_bytes:
                    # Answer 413 now; the app sees a hang-up and its answer is dropped.
                    refused = True
                    await _refuse(send, 413, f"Request body larger than {self.max_bytes} bytes")
                    return {"type": "http.disconnect"}
            return message

        async def guarded(message: Message) -> None:
            nonlocal started
            if not refused:
                started = True
                await send(message)

        await self.app(scope, limited, guarded)


async def _refuse(send: Send, status: int, text: str) -> None:
    body = text.encode()
    await send({"type": "http.response.start", "status": status,
                "headers": [(b"content-type", b"text/plain; charset=utf-8"),
                            (b"content-length", str(len(body)).encode()),
                            (b"connection", b"close")]})
    await send({"type": "http.response.body", "body": body})
