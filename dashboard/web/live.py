"""GET /events/: job changes pushed to open pages as Server-Sent Events, read from Redis pub/sub.

snapshots.events publishes every job change; each open page holds one stream, and cryo.js refreshes the live
parts an event concerns (a job's row or page; a container's page when a job for it is requested). The stream is an
async view: under ASGI it waits on Redis without a thread. Served by WSGI (the test server, `runserver`), it
answers 204 and the pages keep polling, as they do whenever the stream is unavailable.
"""
import json
import logging
import time

from asgiref.sync import sync_to_async
from django.conf import settings
from django.core.handlers.asgi import ASGIRequest
from django.http import HttpResponse, StreamingHttpResponse
from django.views.decorators.http import require_GET

from snapshots import events
from snapshots.services import access

log = logging.getLogger(__name__)

# A stream ends after this long and the browser opens a new one, so a signed-out session does not listen forever.
MAX_SECONDS = 1800
RETRY_MS = 2000
_open = 0


@require_GET
async def job_events(request):
    user = await request.auser()
    if not await sync_to_async(access.can_view)(user):
        return HttpResponse("sign in to follow jobs\n", status=401, content_type="text/plain")
    if not isinstance(request, ASGIRequest):
        return HttpResponse(status=204)  # no push under WSGI: the page polls
    if _open >= settings.CRYO_EVENTS_MAX_STREAMS:
        log.warning("event streams: %s open in this process, refusing another (the page polls)", _open)
        return HttpResponse("too many open event streams; the page polls instead\n", status=503,
                            content_type="text/plain")
    import redis.asyncio as redis

    client = redis.Redis.from_url(settings.CRYO_EVENTS_URL, socket_connect_timeout=2)
    pubsub = client.pubsub(ignore_subscribe_messages=True)
    try:
        await pubsub.subscribe(events.channel())
    except Exception as exc:
        log.warning("event streams: cannot subscribe on Redis (%s); pages poll", exc)
        await client.aclose()
        return HttpResponse("job events are unavailable; the page polls instead\n", status=503,
                            content_type="text/plain")
    response = StreamingHttpResponse(_stream(client, pubsub), content_type="text/event-stream")
    response["Cache-Control"] = "no-cache"
    response["X-Accel-Buffering"] = "no"  # nginx: pass each event on at once
    return response


async def _stream(client, pubsub):
    global _open
    _open += 1
    ends = time.monotonic() + MAX_SECONDS
    try:
        yield f"retry: {RETRY_MS}\n: open\n\n"
        while time.monotonic() < ends:
            message = await pubsub.get_message(timeout=settings.CRYO_EVENTS_KEEPALIVE)
            if message is None:
                yield ": keep-alive\n\n"  # also how a stream learns that its page went away
                continue
            try:
                event = json.loads(message["data"])
            except (TypeError, ValueError):
                continue
            yield sse(event)
    except Exception as exc:  # Redis went away: the browser reconnects, and polls meanwhile
        log.warning("event stream ended: %s", exc)
    finally:
        _open -= 1
        try:
            await pubsub.aclose()
            await client.aclose()
        except Exception:
            pass


def sse(event):
    """One job event as an SSE message named "job"; cryo.js hands it to the parts of the page it concerns."""
    return f"event: job\ndata: {json.dumps(event, separators=(',', ':'))}\n\n"
