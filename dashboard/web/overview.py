from django.views.decorators.http import require_GET

from . import queries
from .access import viewer_required
from .render import render_page


@require_GET
@viewer_required
def overview(request):
    parts = {"hosts-health": "overview/_hosts.html"}
    return render_page(request, "overview/page.html", queries.overview(request.user), parts=parts)
