"""Who is acting, for audit rows written far from the view that knows it (model signals: a password saved, a
group joined). The web middleware binds the request for its duration; elsewhere (manage.py, a worker) the actor
is the system and the source is the command line's user."""
import contextlib
import contextvars

_request = contextvars.ContextVar("cryo_audit_request", default=None)
_label = contextvars.ContextVar("cryo_audit_label", default=None)


@contextlib.contextmanager
def bound_request(request):
    token = _request.set(request)
    try:
        yield
    finally:
        _request.reset(token)


@contextlib.contextmanager
def acting_as(label):
    """Name the actor of the rows written inside (a sign-in provider syncing a person's groups, say)."""
    token = _label.set(label)
    try:
        yield
    finally:
        _label.reset(token)


def current_request():
    return _request.get()


def current_actor():
    """(user or None, label or None): the signed-in person of the current request, else nobody."""
    label = _label.get()
    request = _request.get()
    user = getattr(request, "user", None) if request is not None else None
    if label is None and user is not None and user.is_authenticated:
        return user, None
    return None, label


def current_origin():
    from .services.origin import Origin

    request = _request.get()
    return Origin.web(request) if request is not None else Origin.cli()
