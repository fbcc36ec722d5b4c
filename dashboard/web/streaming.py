"""Streamed responses that stay streamed under ASGI.

Under ASGI, Django reads a synchronous iterator of a StreamingHttpResponse whole into a list before sending it;
for the audit export that is every row in memory. Served by ASGI, the chunks are pulled one at a time in the
request's own thread (where its database cursor lives); served by WSGI, the iterator is left as it is.
"""
from asgiref.sync import sync_to_async
from django.core.handlers.asgi import ASGIRequest

_DONE = object()


class _Chunks:
    def __init__(self, chunks):
        self._chunks = iter(chunks)
        self._next = sync_to_async(next, thread_sensitive=True)

    def __aiter__(self):
        return self

    async def __anext__(self):
        chunk = await self._next(self._chunks, _DONE)
        if chunk is _DONE:
            raise StopAsyncIteration
        return chunk


def streamed(request, chunks):
    return _Chunks(chunks) if isinstance(request, ASGIRequest) else chunks
