# The Celery app is loaded with Django, so that `celery.current_app` is Cryo's wherever it is used.
from .celery import app as celery_app

__all__ = ["celery_app"]
