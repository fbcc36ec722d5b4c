import uuid
import zoneinfo

from django.http import JsonResponse
from django.shortcuts import render
from django_htmx.http import trigger_client_event
from django.utils import timezone

from snapshots import audit_context
from snapshots.errors import AuditUnavailable

from .proxies import client_address, proxy_request_id


class RequestIdMiddleware:
    """Give each request Cryo's own id and its client's address (as far as trusted proxies vouch for it), and
    make both, with the signed-in person, known to audit rows written while it runs."""

    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        request.request_id = uuid.uuid4().hex  # never the client's: a client must not choose what audit rows say
        request.proxy_request_id = proxy_request_id(request)
        request.client_address = client_address(request)
        with audit_context.bound_request(request):
            response = self.get_response(request)
        response["X-Request-ID"] = request.request_id
        return response

    def process_exception(self, request, exception):
        """An action whose audit row could not be written was rolled back: say so (503) instead of a 500."""
        if not isinstance(exception, AuditUnavailable):
            return None
        if request.path.startswith("/api/"):
            return JsonResponse({"error": exception.message}, status=503)
        if getattr(request, "htmx", False):
            response = render(request, "errors/_forbidden.html", {"reason": exception.message}, status=503)
            return trigger_client_event(response, "cryo:notify", {"level": "error", "text": exception.message})
        return render(request, "errors/503.html", {"reason": exception.message}, status=503)


class ViewerTimezoneMiddleware:
    """Show times in the viewer's time zone: the browser reports it in the `tz` cookie."""

    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        name = request.COOKIES.get("tz", "")
        try:
            timezone.activate(zoneinfo.ZoneInfo(name)) if name else timezone.deactivate()
        except (zoneinfo.ZoneInfoNotFoundError, ValueError):
            timezone.deactivate()
        return self.get_response(request)
