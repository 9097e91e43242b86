"""InHealth settings.

Every value comes from the environment (or a `.env` file beside manage.py) through
django-environ; `.env.example` lists them all. Defaults are safe for development; with
DEBUG=False the production switches below turn on and `manage.py check --deploy` is clean.
"""

from pathlib import Path

import environ
from django.core.exceptions import ImproperlyConfigured

BASE_DIR = Path(__file__).resolve().parent.parent

env = environ.Env()
environ.Env.read_env(BASE_DIR / ".env", overwrite=False)

DEBUG = env.bool("DEBUG", default=True)

# A development key is only acceptable while DEBUG is on; production must set its own.
_DEV_SECRET_KEY = "django-insecure-development-only-key-never-use-in-production-0123456789"  # noqa: S105
SECRET_KEY = env.str("SECRET_KEY", default=_DEV_SECRET_KEY if DEBUG else "")
if not SECRET_KEY:
    raise ImproperlyConfigured(
        "SECRET_KEY is not set. With DEBUG=False InHealth refuses to start without one: "
        "set SECRET_KEY in the environment or in .env (see .env.example)."
    )

ALLOWED_HOSTS = env.list("ALLOWED_HOSTS", default=["localhost", "127.0.0.1", "[::1]"])
CSRF_TRUSTED_ORIGINS = env.list("CSRF_TRUSTED_ORIGINS", default=[])

INSTALLED_APPS = [
    "django.contrib.admin",
    "django.contrib.auth",
    "django.contrib.contenttypes",
    "django.contrib.sessions",
    "django.contrib.messages",
    "django.contrib.staticfiles",
    "django_tasks",
    "django_tasks_db",
    "axes",
    "csp",
    "healthcare",
]

MIDDLEWARE = [
    "django.middleware.security.SecurityMiddleware",
    "whitenoise.middleware.WhiteNoiseMiddleware",
    "django.contrib.sessions.middleware.SessionMiddleware",
    "django.middleware.common.CommonMiddleware",
    "django.middleware.csrf.CsrfViewMiddleware",
    "django.contrib.auth.middleware.AuthenticationMiddleware",
    "django.contrib.messages.middleware.MessageMiddleware",
    "django.middleware.clickjacking.XFrameOptionsMiddleware",
    "csp.middleware.CSPMiddleware",
    # no-store on every page (health data on shared workstations), Permissions-Policy, CORP.
    "healthcare.middleware.SecurityHeadersMiddleware",
    "healthcare.middleware.MethodNotAllowedPageMiddleware",
    # Last, as django-axes asks: it reads the outcome of authentication.
    "axes.middleware.AxesMiddleware",
]

ROOT_URLCONF = "django_inhealth.urls"

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
                "healthcare.context_processors.user_role",
            ],
        },
    },
]

WSGI_APPLICATION = "django_inhealth.wsgi.application"

# SQLite file by default (zero set-up); PostgreSQL when DATABASE_URL says so.
DATABASES = {
    "default": env.db("DATABASE_URL", default=f"sqlite:///{BASE_DIR / 'db.sqlite3'}"),
}
DATABASES["default"].setdefault("CONN_MAX_AGE", env.int("CONN_MAX_AGE", default=0))
if DATABASES["default"]["ENGINE"] == "django.db.backends.sqlite3":
    # The web server and the task worker write to the same file: wait for locks instead of
    # failing at once, and let readers go on while one writes.
    DATABASES["default"].setdefault("OPTIONS", {}).update(
        {
            "timeout": 20,
            "transaction_mode": "IMMEDIATE",
            "init_command": "PRAGMA journal_mode=WAL; PRAGMA synchronous=NORMAL;",
        }
    )

DEFAULT_AUTO_FIELD = "django.db.models.BigAutoField"

AUTHENTICATION_BACKENDS = [
    "axes.backends.AxesStandaloneBackend",
    "django.contrib.auth.backends.ModelBackend",
]

AUTH_PASSWORD_VALIDATORS = [
    {"NAME": "django.contrib.auth.password_validation.UserAttributeSimilarityValidator"},
    {
        "NAME": "django.contrib.auth.password_validation.MinimumLengthValidator",
        "OPTIONS": {"min_length": 12},
    },
    {"NAME": "django.contrib.auth.password_validation.CommonPasswordValidator"},
    {"NAME": "django.contrib.auth.password_validation.NumericPasswordValidator"},
    # Refuses "aaaaaaaaaaaa", "passwordpassword", "abcdefghijkl" (Django's four accept them).
    {"NAME": "healthcare.password_validation.RepetitivePasswordValidator"},
]

# Nothing leaves the machine unless configured: by default password-reset mail is dropped
# (an administrator resets passwords); set EMAIL_URL (e.g. smtp+tls://user:pw@host:587) to
# send it.
vars().update(env.email_url("EMAIL_URL", default="dummymail://"))
DEFAULT_FROM_EMAIL = env.str("DEFAULT_FROM_EMAIL", default="webmaster@localhost")

LOGIN_URL = "login"
LOGIN_REDIRECT_URL = "home"
LOGOUT_REDIRECT_URL = "login"

LANGUAGE_CODE = "en-us"
TIME_ZONE = env.str("TIME_ZONE", default="UTC")
USE_I18N = True
USE_TZ = True

STATIC_URL = "static/"
STATICFILES_DIRS = [BASE_DIR / "static"]
STATIC_ROOT = env.path("STATIC_ROOT", default=BASE_DIR / "staticfiles")
# In development whitenoise serves straight from the source folders (no collectstatic needed).
WHITENOISE_USE_FINDERS = DEBUG
WHITENOISE_AUTOREFRESH = DEBUG
STORAGES = {
    "default": {"BACKEND": "django.core.files.storage.FileSystemStorage"},
    "staticfiles": {
        "BACKEND": (
            "django.contrib.staticfiles.storage.StaticFilesStorage"
            if DEBUG
            else "whitenoise.storage.CompressedManifestStaticFilesStorage"
        )
    },
}

# --- Sessions and cookies -------------------------------------------------------------
# A clinic's shared workstations: sessions end after inactivity and when the browser closes.
SESSION_COOKIE_AGE = env.int("SESSION_IDLE_TIMEOUT_SECONDS", default=15 * 60)
SESSION_SAVE_EVERY_REQUEST = True
SESSION_EXPIRE_AT_BROWSER_CLOSE = True
SESSION_COOKIE_HTTPONLY = True
SESSION_COOKIE_SAMESITE = "Lax"
CSRF_COOKIE_HTTPONLY = True

# --- Production switches (DEBUG=False) ------------------------------------------------
SECURE_CONTENT_TYPE_NOSNIFF = True
SECURE_REFERRER_POLICY = "same-origin"
SECURE_CROSS_ORIGIN_OPENER_POLICY = "same-origin"
X_FRAME_OPTIONS = "DENY"
if not DEBUG:
    SESSION_COOKIE_SECURE = env.bool("SESSION_COOKIE_SECURE", default=True)
    CSRF_COOKIE_SECURE = env.bool("CSRF_COOKIE_SECURE", default=True)
    SECURE_SSL_REDIRECT = env.bool("SECURE_SSL_REDIRECT", default=True)
    SECURE_HSTS_SECONDS = env.int("SECURE_HSTS_SECONDS", default=31536000)
    SECURE_HSTS_INCLUDE_SUBDOMAINS = env.bool("SECURE_HSTS_INCLUDE_SUBDOMAINS", default=True)
    SECURE_HSTS_PRELOAD = env.bool("SECURE_HSTS_PRELOAD", default=True)
    # Behind a TLS-terminating proxy (nginx) that sets X-Forwarded-Proto.
    if env.bool("SECURE_PROXY_SSL_HEADER", default=False):
        SECURE_PROXY_SSL_HEADER = ("HTTP_X_FORWARDED_PROTO", "https")

# --- Content-Security-Policy (django-csp 4) -------------------------------------------
# Everything is served from this origin; no inline scripts, no third parties.
CONTENT_SECURITY_POLICY = {
    "DIRECTIVES": {
        "default-src": ["'self'"],
        "script-src": ["'self'"],
        "style-src": ["'self'"],
        "img-src": ["'self'", "data:"],
        "font-src": ["'self'"],
        "connect-src": ["'self'"],
        "object-src": ["'none'"],
        "base-uri": ["'self'"],
        "form-action": ["'self'"],
        "frame-ancestors": ["'none'"],
    },
}

# --- Login throttling (django-axes) ---------------------------------------------------
AXES_ENABLED = env.bool("AXES_ENABLED", default=True)
AXES_FAILURE_LIMIT = env.int("AXES_FAILURE_LIMIT", default=5)
AXES_COOLOFF_TIME = env.float("AXES_COOLOFF_HOURS", default=0.25)  # hours
AXES_LOCKOUT_PARAMETERS = [["username", "ip_address"]]
AXES_RESET_ON_SUCCESS = True
AXES_LOCKOUT_TEMPLATE = "registration/locked_out.html"
# Cut overlong usernames before axes stores them (a 300-character one was a 500 on PostgreSQL).
AXES_USERNAME_CALLABLE = "healthcare.security.axes_username"

# --- Ollama ---------------------------------------------------------------------------
# OLLAMA_API_URL may list several servers, comma-separated; generations are spread over
# the healthy ones.
OLLAMA_API_URL = env.str("OLLAMA_API_URL", default="http://localhost:11434")
OLLAMA_MODEL = env.str("OLLAMA_MODEL", default="llama3.2")
OLLAMA_TIMEOUT = env.float("OLLAMA_TIMEOUT", default=300)  # read timeout, seconds
OLLAMA_CONNECT_TIMEOUT = env.float("OLLAMA_CONNECT_TIMEOUT", default=5)
OLLAMA_TEMPERATURE = env.float("OLLAMA_TEMPERATURE", default=0.2)
OLLAMA_TOP_P = env.float("OLLAMA_TOP_P", default=0.9)
OLLAMA_TOP_K = env.int("OLLAMA_TOP_K", default=40)
OLLAMA_NUM_PREDICT = env.int("OLLAMA_NUM_PREDICT", default=1024)
OLLAMA_MAX_NUM_CTX = env.int("OLLAMA_MAX_NUM_CTX", default=8192)
OLLAMA_KEEP_ALIVE = env.str("OLLAMA_KEEP_ALIVE", default="30m")
# Any other Ollama options as JSON, e.g. {"repeat_penalty": 1.1, "seed": 42}.
OLLAMA_EXTRA_OPTIONS = env.json("OLLAMA_EXTRA_OPTIONS", default={})
# Seconds a server that refused or timed out a connection (or answered 503) is skipped.
OLLAMA_SERVER_COOLOFF = env.float("OLLAMA_SERVER_COOLOFF", default=30)
# How often a running generation saves its partial text and heartbeat, in seconds.
AI_HEARTBEAT_SECONDS = env.float("AI_HEARTBEAT_SECONDS", default=1.0)

# --- Background generation (Django Tasks API via the django-tasks backport) -------------
TASKS_BACKEND = env.str("TASKS_BACKEND", default="django_tasks_db.DatabaseBackend")
TASKS = {
    "default": {
        "BACKEND": TASKS_BACKEND,
        "QUEUES": ["default", "generation"],
    }
}
# A running generation whose worker has sent no heartbeat for this long is taken as dead.
GENERATION_STALE_AFTER_SECONDS = env.int("GENERATION_STALE_AFTER_SECONDS", default=120)
if TASKS_BACKEND.startswith("django_tasks_rq."):
    # Clinics with several machines: a Redis-backed RQ queue shared by all web servers and
    # workers (`pip install django-tasks-rq`; workers: `manage.py rqworker --job-class
    # django_tasks_rq.backend.Job default generation`).
    # See docs/background_generation.md.
    INSTALLED_APPS.insert(INSTALLED_APPS.index("django_tasks_db") + 1, "django_rq")
    REDIS_URL = env.str("REDIS_URL", default="redis://127.0.0.1:6379/0")
    RQ_QUEUES = {
        name: {
            "URL": REDIS_URL,
            # RQ kills a job after this long (its default, 180 s, is shorter than a cold start).
            "DEFAULT_TIMEOUT": env.int("GENERATION_JOB_TIMEOUT_SECONDS", default=3600),
        }
        for name in TASKS["default"]["QUEUES"]
    }

# --- Logging --------------------------------------------------------------------------
# Logs carry ids and outcomes only: never names, MRNs, prompt text or model output.
LOG_LEVEL = env.str("LOG_LEVEL", default="INFO")
LOGGING = {
    "version": 1,
    "disable_existing_loggers": False,
    "formatters": {
        "plain": {"format": "%(asctime)s %(levelname)s %(name)s: %(message)s"},
    },
    "handlers": {
        "console": {"class": "logging.StreamHandler", "formatter": "plain"},
    },
    "root": {"handlers": ["console"], "level": "WARNING"},
    "loggers": {
        "healthcare": {"handlers": ["console"], "level": LOG_LEVEL, "propagate": False},
        "django": {"handlers": ["console"], "level": "WARNING", "propagate": False},
    },
}
