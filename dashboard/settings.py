"""Cryo's one settings module. Every value comes from the environment (see README: Configuration)."""
from datetime import timedelta
from pathlib import Path

import dj_database_url
from csp.constants import NONE, SELF
from django.core.exceptions import ImproperlyConfigured

from .env import envbool, envint, envkey, envlist, envstr
from .proxies import parse_networks

BASE_DIR = Path(__file__).resolve().parent.parent
VAR_DIR = Path(envstr("CRYO_VAR_DIR", str(BASE_DIR / "var")))



def _var_default(name, fallback=None):
    """A file `make run` keeps in var/ (a secret, or the broker's address): used when nothing else is configured,
    so that commands from a second shell in the same checkout find the same dashboard."""
    path = VAR_DIR / name
    try:
        return path.read_text(encoding="utf-8").strip() or fallback
    except OSError:
        return fallback


DEBUG = envbool("CRYO_DEBUG", False)
SECRET_KEY = envstr("CRYO_SECRET_KEY", secret=True) or _var_default("secret-key")
if not SECRET_KEY:
    if DEBUG:
        SECRET_KEY = "insecure-development-key-only-for-CRYO_DEBUG"
    else:
        raise ImproperlyConfigured(
            "CRYO_SECRET_KEY (or CRYO_SECRET_KEY_FILE) must be set; `make run` creates one in var/secret-key"
        )
ALLOWED_HOSTS = envlist("CRYO_ALLOWED_HOSTS", ["127.0.0.1", "localhost"])
CSRF_TRUSTED_ORIGINS = envlist("CRYO_CSRF_TRUSTED_ORIGINS", [])
# Proxies whose X-Forwarded-For (and X-Request-ID) Cryo believes: addresses or networks (dashboard/proxies.py).
CRYO_TRUSTED_PROXIES = parse_networks("CRYO_TRUSTED_PROXIES", envlist("CRYO_TRUSTED_PROXIES", []))

INSTALLED_APPS = [
    "dashboard.admin_config.CryoAdminConfig",  # django.contrib.admin, with every change audited
    "django.contrib.auth",
    "django.contrib.contenttypes",
    "django.contrib.sessions",
    "django.contrib.messages",
    "django.contrib.staticfiles",
    "django.contrib.humanize",
    "django_htmx",
    "axes",
    "csp",
    "django_otp",
    "django_otp.plugins.otp_totp",
    "snapshots",
    "notifications",
    "dashboard",
]

MIDDLEWARE = [
    "django.middleware.security.SecurityMiddleware",
    "csp.middleware.CSPMiddleware",
    "whitenoise.middleware.WhiteNoiseMiddleware",
    "django.contrib.sessions.middleware.SessionMiddleware",
    "django.middleware.common.CommonMiddleware",
    "django.middleware.csrf.CsrfViewMiddleware",
    "django.contrib.auth.middleware.AuthenticationMiddleware",
    "django_otp.middleware.OTPMiddleware",
    "django.contrib.messages.middleware.MessageMiddleware",
    "django.middleware.clickjacking.XFrameOptionsMiddleware",
    "django_htmx.middleware.HtmxMiddleware",
    "dashboard.middleware.RequestIdMiddleware",
    "dashboard.sign_in.SessionLimitsMiddleware",
    "dashboard.sign_in.SecondFactorMiddleware",
    "dashboard.middleware.ViewerTimezoneMiddleware",
    "axes.middleware.AxesMiddleware",
    "dashboard.refusals.RefusalLimitMiddleware",
]

ROOT_URLCONF = "dashboard.urls"
WSGI_APPLICATION = "dashboard.wsgi.application"
ASGI_APPLICATION = "dashboard.asgi.application"

TEMPLATES = [
    {
        "BACKEND": "django.template.backends.django.DjangoTemplates",
        "DIRS": [BASE_DIR / "templates"],
        "APP_DIRS": True,
        "OPTIONS": {
            "context_processors": [
                "django.template.context_processors.request",
                "django.contrib.auth.context_processors.auth",
                "django.contrib.messages.context_processors.messages",
            ],
            "libraries": {"cryo": "dashboard.web.tags"},
        },
    },
]

# Database: a SQLite file by default; DATABASE_URL (postgres://...) for production.
DATABASE_URL = envstr("DATABASE_URL", f"sqlite:///{VAR_DIR / 'cryo.sqlite3'}")
try:
    DATABASES = {"default": dj_database_url.parse(DATABASE_URL, conn_max_age=envint("CRYO_DB_CONN_MAX_AGE", 60))}
except ValueError as exc:
    raise ImproperlyConfigured(f"DATABASE_URL={DATABASE_URL!r} is not a database URL: {exc}") from exc
if DATABASES["default"]["ENGINE"] == "django.db.backends.sqlite3":
    # The web app and the control process write to the same file: wait on locks, take the write lock up front.
    DATABASES["default"]["CONN_MAX_AGE"] = 0
    DATABASES["default"]["OPTIONS"] = {
        "timeout": 30,
        "transaction_mode": "IMMEDIATE",
        "init_command": "PRAGMA journal_mode=WAL; PRAGMA synchronous=NORMAL;",
    }
    # Tests share their database with real dashboard and control processes, so it must be a file.
    DATABASES["default"]["TEST"] = {"NAME": str(VAR_DIR / "test-cryo.sqlite3")}
DEFAULT_AUTO_FIELD = "django.db.models.BigAutoField"

AUTH_PASSWORD_VALIDATORS = [
    {"NAME": "django.contrib.auth.password_validation.UserAttributeSimilarityValidator"},
    {"NAME": "django.contrib.auth.password_validation.MinimumLengthValidator"},
    {"NAME": "django.contrib.auth.password_validation.CommonPasswordValidator"},
]
LOGIN_URL = "login"
LOGIN_REDIRECT_URL = "overview"
LOGOUT_REDIRECT_URL = "login"
SESSION_COOKIE_HTTPONLY = True
SESSION_COOKIE_SECURE = envbool("CRYO_SECURE_COOKIES", False)
CSRF_COOKIE_SECURE = SESSION_COOKIE_SECURE

# HTTPS (README: Production). Behind a TLS-terminating proxy, CRYO_PROXY_SSL_HEADER names the header the proxy
# always sets (X-Forwarded-Proto): Django then knows a request came over HTTPS; never set it without such a proxy.
SECURE_SSL_REDIRECT = envbool("CRYO_SSL_REDIRECT", False)
SECURE_HSTS_SECONDS = envint("CRYO_HSTS_SECONDS", 0, minimum=0)
SECURE_HSTS_INCLUDE_SUBDOMAINS = envbool("CRYO_HSTS_INCLUDE_SUBDOMAINS", True)
SECURE_HSTS_PRELOAD = envbool("CRYO_HSTS_PRELOAD", False)
_ssl_header = envstr("CRYO_PROXY_SSL_HEADER", "")
if _ssl_header:
    SECURE_PROXY_SSL_HEADER = ("HTTP_" + _ssl_header.upper().replace("-", "_"), "https")
SECURE_CONTENT_TYPE_NOSNIFF = True
SECURE_REFERRER_POLICY = "same-origin"
SECURE_CROSS_ORIGIN_OPENER_POLICY = "same-origin"
X_FRAME_OPTIONS = "DENY"
# Content-Security-Policy (django-csp): scripts and styles only from Cryo's own static files, no inline code and
# no eval; htmx is configured in base.html to need neither.
CONTENT_SECURITY_POLICY = {
    "DIRECTIVES": {
        "default-src": [SELF],
        "script-src": [SELF],
        "style-src": [SELF],
        "img-src": [SELF],
        "font-src": [SELF],
        "connect-src": [SELF],
        "object-src": [NONE],
        "base-uri": [NONE],
        "form-action": [SELF],
        "frame-ancestors": [NONE],
    },
}

# Sign-in (dashboard/sign_in.py). Sessions end after CRYO_SESSION_IDLE_TIMEOUT seconds without a request made by
# the person (pages' own polling does not count), and CRYO_SESSION_MAX_AGE seconds after sign-in in any case.
CRYO_SESSION_IDLE_TIMEOUT = envint("CRYO_SESSION_IDLE_TIMEOUT", 30 * 60, minimum=60)
CRYO_SESSION_MAX_AGE = envint("CRYO_SESSION_MAX_AGE", 12 * 3600, minimum=CRYO_SESSION_IDLE_TIMEOUT)
SESSION_COOKIE_AGE = CRYO_SESSION_MAX_AGE
# A second factor (TOTP, django-otp) is optional per person; with this setting every local account must have one.
CRYO_REQUIRE_SECOND_FACTOR = envbool("CRYO_REQUIRE_SECOND_FACTOR", False)
OTP_TOTP_ISSUER = envstr("CRYO_OTP_ISSUER", "Cryo")
OTP_TOTP_THROTTLE_FACTOR = 1  # each wrong code doubles the wait before the next one is checked

AUTHENTICATION_BACKENDS = [
    "axes.backends.AxesStandaloneBackend",  # refuses sign-ins while locked out; must come first
    "django.contrib.auth.backends.ModelBackend",
    "dashboard.sso.CryoOIDCBackend",
]
# Throttling and lockout of sign-ins, on the site and the admin (one sign-in page): after CRYO_LOGIN_FAILURE_LIMIT
# failures for one user name, or from one address, further sign-ins are refused for CRYO_LOGIN_LOCKOUT_MINUTES.
AXES_FAILURE_LIMIT = envint("CRYO_LOGIN_FAILURE_LIMIT", 5, minimum=1)
AXES_COOLOFF_TIME = timedelta(minutes=envint("CRYO_LOGIN_LOCKOUT_MINUTES", 15, minimum=1))
AXES_LOCKOUT_PARAMETERS = [
    [part for part in item.split("+")] if "+" in item else item
    for item in envlist("CRYO_LOGIN_LOCKOUT_BY", ["username", "ip_address"])
]
AXES_RESET_ON_SUCCESS = True
AXES_DISABLE_ACCESS_LOG = True  # the audit trail is the record of sign-ins
AXES_CLIENT_IP_CALLABLE = "dashboard.proxies.client_address"
AXES_LOCKOUT_CALLABLE = "dashboard.web.accounts.locked_out"
AXES_HTTP_RESPONSE_CODE = 429
AXES_VERBOSE = False

# Single sign-on with OpenID Connect (mozilla-django-oidc; dashboard/sso.py), on when CRYO_OIDC_CLIENT_ID is set.
# Local accounts stay. The groups claim names the person's teams (Django groups); CRYO_OIDC_ADMIN_GROUP in it makes
# them a Cryo admin (member of the cryo-admins group).
CRYO_OIDC_ENABLED = bool(envstr("CRYO_OIDC_CLIENT_ID", ""))
CRYO_OIDC_ISSUER = envstr("CRYO_OIDC_ISSUER", "")
OIDC_RP_CLIENT_ID = envstr("CRYO_OIDC_CLIENT_ID", "")
OIDC_RP_CLIENT_SECRET = envstr("CRYO_OIDC_CLIENT_SECRET", "", secret=True)
OIDC_OP_AUTHORIZATION_ENDPOINT = envstr("CRYO_OIDC_AUTHORIZATION_URL", "")
OIDC_OP_TOKEN_ENDPOINT = envstr("CRYO_OIDC_TOKEN_URL", "")
OIDC_OP_USER_ENDPOINT = envstr("CRYO_OIDC_USERINFO_URL", "")
OIDC_OP_JWKS_ENDPOINT = envstr("CRYO_OIDC_JWKS_URL", "")
OIDC_RP_SIGN_ALGO = envstr("CRYO_OIDC_SIGN_ALGO", "RS256")
OIDC_RP_SCOPES = envstr("CRYO_OIDC_SCOPES", "openid email profile")
CRYO_OIDC_USERNAME_CLAIM = envstr("CRYO_OIDC_USERNAME_CLAIM", "preferred_username")
CRYO_OIDC_GROUPS_CLAIM = envstr("CRYO_OIDC_GROUPS_CLAIM", "groups")
CRYO_OIDC_ADMIN_GROUP = envstr("CRYO_OIDC_ADMIN_GROUP", "cryo-admins")
OIDC_USE_PKCE = True
OIDC_TIMEOUT = 10
OIDC_AUTHENTICATION_CALLBACK_URL = "oidc-callback"
LOGIN_REDIRECT_URL_FAILURE = "/login/?sso=failed"
if CRYO_OIDC_ENABLED:
    missing = [name for name, value in {
        "CRYO_OIDC_ISSUER": CRYO_OIDC_ISSUER, "CRYO_OIDC_CLIENT_SECRET": OIDC_RP_CLIENT_SECRET,
        "CRYO_OIDC_AUTHORIZATION_URL": OIDC_OP_AUTHORIZATION_ENDPOINT, "CRYO_OIDC_TOKEN_URL": OIDC_OP_TOKEN_ENDPOINT,
        "CRYO_OIDC_USERINFO_URL": OIDC_OP_USER_ENDPOINT, "CRYO_OIDC_JWKS_URL": OIDC_OP_JWKS_ENDPOINT,
    }.items() if not value]
    if missing:
        raise ImproperlyConfigured(f"CRYO_OIDC_CLIENT_ID is set, so single sign-on needs {', '.join(missing)} too")

LANGUAGE_CODE = "en-us"
TIME_ZONE = "UTC"
USE_I18N = False
USE_TZ = True

STATIC_URL = "static/"
STATICFILES_DIRS = [BASE_DIR / "static"]
STATIC_ROOT = VAR_DIR / "staticfiles"
STORAGES = {
    "default": {"BACKEND": "django.core.files.storage.FileSystemStorage"},
    "staticfiles": {"BACKEND": "whitenoise.storage.CompressedStaticFilesStorage"},
}
WHITENOISE_USE_FINDERS = True

# Celery with a Redis broker. The dashboard side publishes (every host's queue) and runs the control process
# (queue cryo.control, with beat); each host's agent consumes only its own queue, as its own broker user
# (snapshots.agents.broker). Agents acknowledge a message only after its job step ran (a message whose agent died
# is delivered again) and the dashboard's conditional claim keeps a job single-run. Publishing has short
# timeouts: a frozen broker delays nobody for long, and the control process sends again what did not go out.
CELERY_BROKER_URL = envstr("CRYO_BROKER_URL", _var_default("broker-url", "redis://127.0.0.1:6379/0"), secret=True)
CELERY_RESULT_BACKEND = None
CELERY_TASK_IGNORE_RESULT = True
CELERY_TASK_ACKS_LATE = True
CELERY_WORKER_PREFETCH_MULTIPLIER = 1
CELERY_TASK_REJECT_ON_WORKER_LOST = False
CELERY_TASK_SERIALIZER = "json"
CELERY_ACCEPT_CONTENT = ["json"]
CELERY_BROKER_CONNECTION_RETRY_ON_STARTUP = True
CELERY_BROKER_CONNECTION_TIMEOUT = 3
CELERY_TASK_DEFAULT_QUEUE = "cryo.control"
CELERY_WORKER_HIJACK_ROOT_LOGGER = False
CELERY_WORKER_SEND_TASK_EVENTS = False
CELERY_WORKER_ENABLE_REMOTE_CONTROL = False

# Cryo itself.
CRYO_ENGINE_TIMEOUT = envint("CRYO_ENGINE_TIMEOUT", 900, minimum=10)
CELERY_BROKER_TRANSPORT_OPTIONS = {
    "visibility_timeout": CRYO_ENGINE_TIMEOUT * 4,
    "priority_steps": [0],
    "socket_timeout": 3,
    "socket_connect_timeout": 3,
}
CRYO_AGENT_BROKER_URL = envstr("CRYO_AGENT_BROKER_URL", "")
CRYO_PUBLIC_URL = envstr("CRYO_PUBLIC_URL", "http://127.0.0.1:8000").rstrip("/")
CRYO_HEARTBEAT_INTERVAL = envint("CRYO_HEARTBEAT_INTERVAL", 5, minimum=1)
CRYO_HEARTBEAT_GRACE = envint("CRYO_HEARTBEAT_GRACE", 30, minimum=2)
CRYO_JOB_LEASE = envint("CRYO_JOB_LEASE", CRYO_HEARTBEAT_GRACE, minimum=2)
CRYO_SYNC_INTERVAL = envint("CRYO_SYNC_INTERVAL", 60, minimum=5)
CRYO_JOB_QUEUE_EXPIRY = envint("CRYO_JOB_QUEUE_EXPIRY", 600, minimum=5)
CRYO_JOB_RESEND_AFTER = envint("CRYO_JOB_RESEND_AFTER", 10, minimum=1)
CRYO_CONTROL_INTERVAL = envint("CRYO_CONTROL_INTERVAL", 1, minimum=1)
# Schedules: a due time older than this many seconds when the control process reaches it is reported as missed, not
# taken late; the shortest interval a schedule may have.
CRYO_SCHEDULE_GRACE = envint("CRYO_SCHEDULE_GRACE", 60, minimum=1)
CRYO_SCHEDULE_MIN_INTERVAL = envint("CRYO_SCHEDULE_MIN_INTERVAL", 60, minimum=1)
# Seconds between two pruning rounds of the retention policies.
CRYO_RETENTION_INTERVAL = envint("CRYO_RETENTION_INTERVAL", 60, minimum=1)
CRYO_JOIN_TOKEN_MINUTES = envint("CRYO_JOIN_TOKEN_MINUTES", 60, minimum=1)
# Viewers and operators see only the hosts granted to their teams (admins see all); see snapshots/services/access.py.
CRYO_TEAM_SCOPED_VISIBILITY = envbool("CRYO_TEAM_SCOPED_VISIBILITY", False)
# Abuse limits (snapshots/jobs/limits.py): jobs queued or running per person and per host, checkpoints kept per
# container (count and MiB); refused requests per person, token or address within a window (dashboard/refusals.py).
CRYO_MAX_JOBS_PER_USER = envint("CRYO_MAX_JOBS_PER_USER", 20, minimum=1)
CRYO_MAX_JOBS_PER_HOST = envint("CRYO_MAX_JOBS_PER_HOST", 50, minimum=1)
CRYO_CHECKPOINTS_PER_CONTAINER = envint("CRYO_CHECKPOINTS_PER_CONTAINER", 50, minimum=1)
CRYO_CHECKPOINT_MIB_PER_CONTAINER = envint("CRYO_CHECKPOINT_MIB_PER_CONTAINER", 64 * 1024, minimum=1)
CRYO_REFUSAL_LIMIT = envint("CRYO_REFUSAL_LIMIT", 60, minimum=1)
CRYO_REFUSAL_WINDOW = envint("CRYO_REFUSAL_WINDOW", 60, minimum=1)
# The cache that counts refusals: shared by every web process with CRYO_CACHE_URL (redis://...), else per process.
CRYO_CACHE_URL = envstr("CRYO_CACHE_URL", "", secret=True)
CACHES = {"default": {"BACKEND": "django.core.cache.backends.redis.RedisCache", "LOCATION": CRYO_CACHE_URL}
          if CRYO_CACHE_URL else {"BACKEND": "django.core.cache.backends.locmem.LocMemCache"}}
# Personal API tokens work for CRYO_API_TOKEN_DAYS unless their creator chose otherwise (at most the maximum).
CRYO_API_TOKEN_MAX_DAYS = envint("CRYO_API_TOKEN_MAX_DAYS", 365, minimum=1)
CRYO_API_TOKEN_DAYS = envint("CRYO_API_TOKEN_DAYS", 90, minimum=1)
if CRYO_API_TOKEN_DAYS > CRYO_API_TOKEN_MAX_DAYS:
    raise ImproperlyConfigured(f"CRYO_API_TOKEN_DAYS={CRYO_API_TOKEN_DAYS} is above CRYO_API_TOKEN_MAX_DAYS="
                               f"{CRYO_API_TOKEN_MAX_DAYS}")
CRYO_SPOOL_DIR = Path(envstr("CRYO_SPOOL_DIR", str(VAR_DIR / "spool")))
CRYO_STORE_DIR = Path(envstr("CRYO_STORE_DIR", str(VAR_DIR / "store")))
CRYO_STORE_BACKEND = envstr("CRYO_STORE_BACKEND", "django.core.files.storage.FileSystemStorage")
CRYO_STORE_OPTIONS = {"location": str(CRYO_STORE_DIR)}
if CRYO_STORE_BACKEND == "storages.backends.s3.S3Storage":
    CRYO_STORE_OPTIONS = {
        "bucket_name": envstr("CRYO_S3_BUCKET", ""),
        "endpoint_url": envstr("CRYO_S3_ENDPOINT_URL", None),
        "access_key": envstr("CRYO_S3_ACCESS_KEY", None, secret=True),
        "secret_key": envstr("CRYO_S3_SECRET_KEY", None, secret=True),
        "location": envstr("CRYO_S3_PREFIX", "cryo"),
    }
    if not CRYO_STORE_OPTIONS["bucket_name"]:
        raise ImproperlyConfigured("CRYO_STORE_BACKEND is S3 but CRYO_S3_BUCKET is not set")
STORAGES["checkpoints"] = {"BACKEND": CRYO_STORE_BACKEND, "OPTIONS": CRYO_STORE_OPTIONS}
# Every archive in the store is sealed with its own data key; the dashboard keeps the data keys wrapped by this
# key-encryption key (snapshots/store_keys.py). During a rotation the old one is CRYO_STORE_KEK_PREVIOUS.
CRYO_STORE_KEK = envkey("CRYO_STORE_KEK", _var_default("store-kek"))
CRYO_STORE_KEK_PREVIOUS = envkey("CRYO_STORE_KEK_PREVIOUS")
if not CRYO_STORE_KEK:
    if DEBUG:
        CRYO_STORE_KEK = b"insecure-development-store-kek!!"
    else:
        raise ImproperlyConfigured("CRYO_STORE_KEK (or CRYO_STORE_KEK_FILE) must be set: the base64 of 32 random "
                                   "bytes; `make run` creates one in var/store-kek")

from datetime import timedelta  # noqa: E402

# The reconciliation round itself does not go through the broker (it must go on while the broker is down): the
# control process runs it on a thread of its own (snapshots.control.run_rounds).
CELERY_BEAT_SCHEDULE = {
    "broker-users": {"task": "cryo.control.broker_users", "schedule": timedelta(seconds=60),
                     "options": {"expires": 60}},
}

CRYO_LOG_LEVEL = envstr("CRYO_LOG_LEVEL", "INFO")

# Prometheus scrapes /metrics with this bearer token; without one the endpoint is off (404).
CRYO_METRICS_TOKEN = envstr("CRYO_METRICS_TOKEN", "", secret=True)

# Notifications (webhooks and e-mail per team), delivered by the control worker (queue cryo.control).
CRYO_BASE_URL = envstr("CRYO_BASE_URL", "")  # e.g. https://cryo.example.org: links in notifications
CRYO_WEBHOOK_ALLOW_PRIVATE = envbool("CRYO_WEBHOOK_ALLOW_PRIVATE", False)  # see notifications/addresses.py
CRYO_WEBHOOK_TIMEOUT = envint("CRYO_WEBHOOK_TIMEOUT", 5, minimum=1)
CRYO_WEBHOOK_ATTEMPTS = envint("CRYO_WEBHOOK_ATTEMPTS", 6, minimum=1)
CRYO_WEBHOOK_BACKOFF = envint("CRYO_WEBHOOK_BACKOFF", 10, minimum=1)  # seconds; doubled after each failed attempt
EMAIL_BACKEND = envstr("CRYO_EMAIL_BACKEND", "django.core.mail.backends.smtp.EmailBackend")
EMAIL_HOST = envstr("CRYO_EMAIL_HOST", "localhost")
EMAIL_PORT = envint("CRYO_EMAIL_PORT", 25, minimum=1)
EMAIL_HOST_USER = envstr("CRYO_EMAIL_USER", "")
EMAIL_HOST_PASSWORD = envstr("CRYO_EMAIL_PASSWORD", "", secret=True)
EMAIL_USE_TLS = envbool("CRYO_EMAIL_STARTTLS", False)
EMAIL_USE_SSL = envbool("CRYO_EMAIL_SSL", False)
EMAIL_TIMEOUT = 10
DEFAULT_FROM_EMAIL = envstr("CRYO_EMAIL_FROM", "cryo@localhost")

# Job events for open pages (Redis pub/sub, read by the Server-Sent Events endpoint): the broker's Redis unless
# told otherwise.
CRYO_EVENTS_URL = envstr("CRYO_EVENTS_URL", CELERY_BROKER_URL, secret=True)
# Seconds between keep-alive comments on an open event stream (proxies close silent connections).
CRYO_EVENTS_KEEPALIVE = envint("CRYO_EVENTS_KEEPALIVE", 20, minimum=1)
# Streams one web process keeps open at most; past that, pages poll (a signed-in person cannot exhaust Redis).
CRYO_EVENTS_MAX_STREAMS = envint("CRYO_EVENTS_MAX_STREAMS", 500, minimum=0)

# Audit: every row may also go, as one JSON line, to a file or syslog; fail-closed refuses an action whose row
# cannot be streamed (snapshots/audit_stream.py).
CRYO_AUDIT_STREAM = envstr("CRYO_AUDIT_STREAM", "")
CRYO_AUDIT_FAIL_CLOSED = envbool("CRYO_AUDIT_FAIL_CLOSED", False)
if CRYO_AUDIT_STREAM:
    from snapshots.audit_stream import parse_target

    parse_target(CRYO_AUDIT_STREAM)  # a bad value stops the process at start

LOGGING = {
    "version": 1,
    "disable_existing_loggers": False,
    "formatters": {"plain": {"format": "%(asctime)s %(levelname)s %(name)s: %(message)s"}},
    "handlers": {"console": {"class": "logging.StreamHandler", "formatter": "plain"}},
    "root": {"handlers": ["console"], "level": CRYO_LOG_LEVEL},
    "loggers": {"django.db.backends": {"level": "INFO"}, "axes": {"level": "WARNING"}},
}
