"""The dashboard as an ASGI application (gunicorn with uvicorn's worker class; see deploy/run.sh).

Ordinary pages stay synchronous views that Django runs in threads; the event stream (/events/) is an async view
that waits on Redis without holding a thread, so open pages do not use up the server's threads.
"""
import os

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "dashboard.settings")
# Django runs each request's synchronous code in a thread of its own under ASGI, so a persistent database
# connection would be left behind per thread: Django's advice for ASGI is to close connections after each request.
os.environ.setdefault("CRYO_DB_CONN_MAX_AGE", "0")

from django.core.asgi import get_asgi_application  # noqa: E402  (after the environment above)

django_application = get_asgi_application()

from dashboard.agentapi import asgi_uploads  # noqa: E402  (after Django is set up)


async def application(scope, receive, send):
    """Django, except archive uploads, which are streamed to the store as they arrive (see asgi_uploads)."""
    if asgi_uploads.matches(scope):
        return await asgi_uploads.handle(scope, receive, send)
    return await django_application(scope, receive, send)
