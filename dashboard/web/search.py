from django.views.decorators.http import require_GET

from . import queries
from .access import viewer_required
from .forms import SearchForm
from .render import render_page


@require_GET
@viewer_required
def search(request):
    form = SearchForm(request.GET)
    text = form.cleaned_data["q"] if form.is_valid() else ""
    context = {"form": form, "q": text, "results": queries.search_containers(text, request.user)}
    return render_page(request, "search/page.html", context, parts={"search-results": "search/_results.html"})
