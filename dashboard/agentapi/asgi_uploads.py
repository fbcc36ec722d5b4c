"""Archive uploads under ASGI, streamed: Django's ASGI handler reads a whole request body before a view runs, which
would hold a checkpoint in the dashboard's memory and stop the target host from reading it while it arrives. This
route takes PUT /agent/v1/archives/<id> before Django and feeds the body, as it comes, to the same code as the
WSGI view (accept_upload), which runs in a thread."""
import asyncio
import json
import queue
import re
import uuid

from asgiref.sync import sync_to_async

UPLOAD = re.compile(r"^/agent/v1/archives/(?P<id>[0-9a-f-]{36})$")
_END = b""


def matches(scope):
    return scope["type"] == "http" and scope["method"] == "PUT" and UPLOAD.match(scope["path"]) is not None


async def handle(scope, receive, send):
    from django.db import close_old_connections

    from .archives import accept_upload, bearer, size_hint

    try:
        archive_id = uuid.UUID(UPLOAD.match(scope["path"]).group("id"))
    except ValueError:
        return await _answer(send, 404, {"error": "no such archive"})
    headers = {k.decode("latin-1").lower(): v.decode("latin-1") for k, v in scope.get("headers", [])}
    chunks = queue.Queue(maxsize=32)  # back-pressure: the client waits while the disk catches up
    pending = bytearray()
    ended = False

    def read(n):
        nonlocal pending, ended
        while len(pending) < n and not ended:
            chunk = chunks.get()
            if chunk is None:
                raise OSError("the upload was cut off")
            if chunk == _END:
                ended = True
            else:
                pending += chunk
        out, pending = bytes(pending[:n]), pending[n:]
        return out

    def work():
        close_old_connections()
        try:
            return accept_upload(bearer(headers.get("authorization")), archive_id, read,
                                 size_hint=size_hint(headers.get("x-cryo-size")))
        finally:
            close_old_connections()

    worker = asyncio.ensure_future(sync_to_async(work, thread_sensitive=False)())

    async def feed(item):
        """Hand a chunk to the writer; once the writer is done (it refused, say), the rest is read and dropped so
        that the client gets the answer instead of a broken connection."""
        while not worker.done():
            try:
                await asyncio.to_thread(chunks.put, item, True, 0.5)
                return
            except queue.Full:
                continue

    try:
        while True:
            message = await receive()
            if message["type"] == "http.disconnect":
                await feed(None)
                break
            body = message.get("body", b"")
            if body:
                await feed(bytes(body))
            if not message.get("more_body"):
                await feed(_END)
                break
    except BaseException:
        await feed(None)
        raise
    status, answer = await worker
    await _answer(send, status, answer)


async def _answer(send, status, answer):
    body = json.dumps(answer).encode()
    await send({"type": "http.response.start", "status": status,
                "headers": [(b"content-type", b"application/json"), (b"content-length", str(len(body)).encode())]})
    await send({"type": "http.response.body", "body": body})
