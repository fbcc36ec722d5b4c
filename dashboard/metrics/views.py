"""GET /metrics for Prometheus: a bearer token from the environment (CRYO_METRICS_TOKEN or _FILE), else 401."""
import hmac
import logging

from django.conf import settings
from django.http import HttpResponse
from django.views.decorators.http import require_GET
from prometheus_client import CONTENT_TYPE_LATEST, CollectorRegistry, generate_latest

from .collector import CryoCollector

log = logging.getLogger(__name__)

# Only Cryo's own collector: the process metrics of whichever web process answers would mislead.
REGISTRY = CollectorRegistry(auto_describe=False)
REGISTRY.register(CryoCollector())


@require_GET
def metrics(request):
    token = settings.CRYO_METRICS_TOKEN
    if not token:
        return HttpResponse("metrics are off: set CRYO_METRICS_TOKEN (or CRYO_METRICS_TOKEN_FILE) to turn them on\n",
                            status=404, content_type="text/plain")
    scheme, _, given = request.headers.get("Authorization", "").partition(" ")
    if scheme.lower() != "bearer" or not hmac.compare_digest(given.strip().encode(), token.encode()):
        log.warning("metrics scrape refused from %s: missing or wrong bearer token", request.META.get("REMOTE_ADDR"))
        response = HttpResponse("a bearer token is needed: Authorization: Bearer <CRYO_METRICS_TOKEN>\n", status=401,
                                content_type="text/plain")
        response["WWW-Authenticate"] = 'Bearer realm="cryo-metrics"'
        return response
    return HttpResponse(generate_latest(REGISTRY), content_type=CONTENT_TYPE_LATEST)
