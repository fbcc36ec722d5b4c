from django.shortcuts import render

from .render import notify


def forbidden(request, exception=None):
    """403: a short page (or, for htmx, a notification) that says what was refused."""
    reason = str(exception or "") or "You may not do this."
    if getattr(request, "htmx", False):
        response = render(request, "errors/_forbidden.html", {"reason": reason}, status=403)
        return notify(response, "error", reason)
    return render(request, "errors/403.html", {"reason": reason}, status=403)
