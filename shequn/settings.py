"""Shequn settings: every value comes from the environment (see README, "Configuration").

The database is always PostgreSQL, named by DATABASE_URL (scripts/run and scripts/test start an
embedded one when it is not set); with no REDIS_URL Celery runs tasks in-process and the cache is
local memory. Production sets both, plus SECRET_KEY, DEBUG=0 and ALLOWED_HOSTS.
"""

import json
import os
from datetime import timedelta
from pathlib import Path

import dj_database_url
from django.core.exceptions import ImproperlyConfigured
from PIL import Image

BASE_DIR = Path(__file__).resolve().parent.parent


def env_bool(name: str, default: bool) -> bool:
    value = os.environ.get(name)
    if value is None or value == "":
        return default
    return value.strip().lower() in {"1", "true", "yes", "on"}


def env_list(name: str, default: str = "") -> list[str]:
    return [item.strip() for item in os.environ.get(name, default).split(",") if item.strip()]


DEBUG = env_bool("DEBUG", False)
SECRET_KEY = os.environ.get("SECRET_KEY", "")
if not SECRET_KEY:
    if not DEBUG:
        raise ImproperlyConfigured("SECRET_KEY must be set when DEBUG is off.")
    SECRET_KEY = "dev-only-insecure-key-do-not-use-in-production"

ALLOWED_HOSTS = env_list("ALLOWED_HOSTS", "localhost,127.0.0.1,[::1]" if DEBUG else "")
CSRF_TRUSTED_ORIGINS = env_list("CSRF_TRUSTED_ORIGINS")
# The public address members' invite links and QR codes point to.
SITE_URL = os.environ.get("SITE_URL", "http://localhost:8000").rstrip("/")

INSTALLED_APPS = [
    "django.contrib.admin",
    "django.contrib.auth",
    "django.contrib.contenttypes",
    "django.contrib.sessions",
    "django.contrib.messages",
    "whitenoise.runserver_nostatic",
    "django.contrib.staticfiles",
    "django.contrib.humanize",
    "allauth",
    "allauth.account",
    "allauth.socialaccount",
    "allauth.headless",
    "rest_framework",
    "drf_spectacular",
    "drf_spectacular_sidecar",  # Swagger UI and Redoc from our static files, at a pinned version
    "shequn",
    "accounts",
    "shops",
    "groups",
    "referrals",
    "orders",
    "notifications",
    "segments",
    "campaigns",
    "playbooks",
    "analytics",
]
# The official account (公众号) members sign in through inside WeChat; its openids also address WeChat
# Pay JSAPI payments and template messages. WeChat sign-in (allauth's weixin provider, adapted for WeChat's
# own browser in accounts/weixin) is offered when WEIXIN_LOGIN_ENABLED.
WEIXIN_APP_ID = os.environ.get("WEIXIN_APP_ID", "")
WEIXIN_APP_SECRET = os.environ.get("WEIXIN_APP_SECRET", "")
WEIXIN_LOGIN_ENABLED = env_bool("WEIXIN_LOGIN_ENABLED", False)
INSTALLED_APPS.append("accounts.weixin")
SOCIALACCOUNT_PROVIDERS = {
    "weixin": {
        "APP": {"client_id": WEIXIN_APP_ID, "secret": WEIXIN_APP_SECRET},
        "SCOPE": ["snsapi_base"],  # silent; a new member is asked once for snsapi_userinfo (accounts.adapter)
        "AUTHORIZE_URL": os.environ.get("WEIXIN_AUTHORIZE_URL", "https://open.weixin.qq.com/connect/oauth2/authorize"),
    }
}

MIDDLEWARE = [
    "django.middleware.security.SecurityMiddleware",
    "shequn.csp.content_security_policy",
    "whitenoise.middleware.WhiteNoiseMiddleware",
    "shequn.middleware.ServiceUnavailableMiddleware",
    "shequn.input_guard.refuse_nul_characters",
    # Before the session: an order form for something flagged sold out is refused from the flag alone.
    "orders.early.SoldOutEarlyMiddleware",
    "django.contrib.sessions.middleware.SessionMiddleware",
    "django.middleware.locale.LocaleMiddleware",
    "django.middleware.common.CommonMiddleware",
    "django.middleware.csrf.CsrfViewMiddleware",
    "django.contrib.auth.middleware.AuthenticationMiddleware",
    "django.contrib.messages.middleware.MessageMiddleware",
    "django.middleware.clickjacking.XFrameOptionsMiddleware",
    "allauth.account.middleware.AccountMiddleware",
]

ROOT_URLCONF = "shequn.urls"
WSGI_APPLICATION = "shequn.wsgi.application"

TEMPLATES = [
    {
        "BACKEND": "django.template.backends.django.DjangoTemplates",
        "DIRS": [BASE_DIR / "templates"],
        "OPTIONS": {
            # Django's own two (the project's templates/, then each app's), then each campaign type
            # package's (campaigns/types/<code>/templates), cached as Django caches its own.
            "loaders": [
                (
                    "django.template.loaders.cached.Loader",
                    [
                        "django.template.loaders.filesystem.Loader",
                        "django.template.loaders.app_directories.Loader",
                        "campaigns.templates.TypeTemplates",
                    ],
                )
            ],
            "context_processors": [
                "django.template.context_processors.request",
                "django.contrib.auth.context_processors.auth",
                "django.contrib.messages.context_processors.messages",
                "django.template.context_processors.i18n",
                "shops.context_processors.current_shop",
                "notifications.context_processors.inbox",
                "accounts.context_processors.wechat",
                "accounts.context_processors.sign_in_for",
            ],
        },
    },
]

# --- Database -------------------------------------------------------------------------------
DATA_DIR = Path(os.environ.get("DATA_DIR", BASE_DIR / "var"))
DATABASE_URL = os.environ.get("DATABASE_URL", "")
if not DATABASE_URL.startswith(("postgres://", "postgresql://")):
    # One engine everywhere: locks, constraints and SQL behave in development as in production.
    raise ImproperlyConfigured(
        "DATABASE_URL must name a PostgreSQL database (postgres://user:password@host:port/name); "
        + (f"it names {DATABASE_URL.split(':', 1)[0]!r}. " if DATABASE_URL else "it is not set. ")
        + "scripts/run and scripts/test start an embedded PostgreSQL when it is not set."
    )
DATABASES = {"default": dj_database_url.parse(DATABASE_URL, conn_max_age=60, conn_health_checks=True)}
# DATABASE_POOLER=pgbouncer: DATABASE_URL names a PgBouncer in transaction mode (pool_mode = transaction).
# Each transaction, or each statement in autocommit, may then run on another server connection, so
# nothing may outlive a transaction on the server: Django's server-side cursors (`.iterator()` declares
# a cursor, then fetches from it in later statements) are turned off; the code's own session state is
# transaction-scoped already (pg_advisory_xact_lock, SET LOCAL, TEMP tables ON COMMIT DROP), psycopg2
# prepares no statements (shequn/prepared.py sends its own whole when this is "pgbouncer"), and the time
# zone Django sets on connecting is a parameter PgBouncer tracks per client. See README, "Scaling out".
DATABASE_POOLER = os.environ.get("DATABASE_POOLER", "").strip().lower()
if DATABASE_POOLER not in {"", "pgbouncer"}:
    raise ImproperlyConfigured(
        "DATABASE_POOLER must be empty (connect directly) or 'pgbouncer' (transaction mode); "
        f"it is {DATABASE_POOLER!r}."
    )
if DATABASE_POOLER == "pgbouncer":
    DATABASES["default"]["DISABLE_SERVER_SIDE_CURSORS"] = True
DEFAULT_AUTO_FIELD = "django.db.models.BigAutoField"

# --- Redis: cache and Celery ----------------------------------------------------------------
REDIS_URL = os.environ.get("REDIS_URL", "")
if REDIS_URL:
    CACHES = {
        "default": {
            "BACKEND": "django_redis.cache.RedisCache",
            "LOCATION": REDIS_URL,
            "KEY_PREFIX": os.environ.get("CACHE_KEY_PREFIX", "shequn"),
            # Redis down must not take down the pages that do not need it: a failed read is a miss and a
            # failed write is lost, logged (sessions are not here: SESSION_ENGINE); sign-in's limits fail
            # closed instead (accounts.signin), and SMS limits refuse to send (accounts.sms).
            # A Redis that hangs costs each call its timeouts, not the request (stated, not redis-py's default).
            "OPTIONS": {"IGNORE_EXCEPTIONS": True, "SOCKET_CONNECT_TIMEOUT": 2, "SOCKET_TIMEOUT": 5},
        }
    }
    DJANGO_REDIS_LOG_IGNORED_EXCEPTIONS = True
    CELERY_BROKER_URL = REDIS_URL
    CELERY_TASK_ALWAYS_EAGER = False
else:
    CACHES = {"default": {"BACKEND": "django.core.cache.backends.locmem.LocMemCache"}}
    CELERY_BROKER_URL = "memory://localhost/"
    # No broker configured: run tasks in-process so the product works out of the box.
    CELERY_TASK_ALWAYS_EAGER = True
CELERY_TASK_EAGER_PROPAGATES = True
CELERY_TASK_ACKS_LATE = True
CELERY_TASK_REJECT_ON_WORKER_LOST = True
CELERY_WORKER_PREFETCH_MULTIPLIER = 1
CELERY_TASK_SERIALIZER = "json"
CELERY_ACCEPT_CONTENT = ["json"]
CELERY_TIMEZONE = "Asia/Shanghai"
# The beat schedule lives here, in code; README lists it.
CELERY_BEAT_SCHEDULE = {
    "worker-heartbeat": {"task": "shequn.tasks.heartbeat", "schedule": timedelta(seconds=30)},
    "cancel-overdue-orders": {"task": "orders.tasks.cancel_overdue_orders", "schedule": timedelta(minutes=1)},
    "deliver-simulated-payment-notifications": {
        "task": "orders.tasks.deliver_simulated_notifications",
        "schedule": timedelta(seconds=15),
    },
    # WeChat Pay / Alipay: ask about payments and refunds whose notification never came; reconcile the
    # latest published daily statement (WeChat Pay publishes yesterday's at 10:00; a re-run replaces).
    "payment-recovery": {"task": "orders.tasks.recover_payments", "schedule": timedelta(minutes=2)},
    "payment-reconciliation": {"task": "orders.tasks.reconcile_payments", "schedule": timedelta(hours=6)},
    # Each order's paid − refunded against its own payments and refunds (listed on the payments page).
    "order-ledger-check": {"task": "orders.tasks.check_order_ledgers", "schedule": timedelta(hours=1)},
    "grant-due-referral-rewards": {"task": "referrals.tasks.grant_due_rewards", "schedule": timedelta(minutes=10)},
    # Fraud review: raise flags from recent referral events; apply the shop's default to overdue flags.
    "detect-referral-fraud": {"task": "referrals.tasks.detect_fraud", "schedule": timedelta(minutes=10)},
    "apply-fraud-flag-deadlines": {"task": "referrals.tasks.apply_flag_deadlines", "schedule": timedelta(minutes=5)},
    # Leaderboards: rebuild current boards from PostgreSQL (repairs a live update a crash lost).
    "refresh-leaderboards": {"task": "referrals.tasks.refresh_boards", "schedule": timedelta(hours=6)},
    # The outbox's safety net: delivers what an after-commit kick missed, quiet-hours holds and retries.
    "deliver-notifications": {"task": "notifications.tasks.deliver_notifications", "schedule": timedelta(seconds=30)},
    # Start/end campaigns on time, close expired teams/tasks and pay the refunds they owe.
    "campaign-due-jobs": {"task": "campaigns.tasks.run_due_jobs", "schedule": timedelta(minutes=1)},
    # 打卡: reminders near the end of the daily window; milestone rewards a standing reached and lacks.
    "checkin-jobs": {"task": "campaigns.tasks.checkin_jobs", "schedule": timedelta(minutes=10)},
    # 比 contests: settle ended contests once (final ranking, prizes owed) and grant pending prizes.
    "contest-jobs": {"task": "campaigns.tasks.contest_jobs", "schedule": timedelta(minutes=5)},
    # 新群培育: the due automatic steps of every group's playbook, each once.
    "playbook-steps": {"task": "playbooks.tasks.run_playbook_steps", "schedule": timedelta(minutes=5)},
    # Repeat-purchase reminders and the groups' lifecycle jobs; each runs under a lease (shequn.jobs).
    "repurchase-reminders": {"task": "orders.tasks.dispatch_repurchase_reminders", "schedule": timedelta(minutes=5)},
    "group-lifecycle": {"task": "groups.tasks.run_group_lifecycle", "schedule": timedelta(minutes=5)},
    "invite-link-expiry": {"task": "groups.tasks.expire_invite_links", "schedule": timedelta(minutes=5)},
    "series-open-next": {"task": "groups.tasks.open_next_series_groups", "schedule": timedelta(minutes=5)},
    "lurker-follow-ups": {"task": "groups.tasks.follow_up_lurkers", "schedule": timedelta(hours=1)},
    "group-health-snapshots": {"task": "groups.tasks.take_group_health_snapshots", "schedule": timedelta(hours=1)},
    # The group space: remind operators before a group's WeChat QR code expires (once per code and expiry).
    "wechat-qr-expiry": {"task": "groups.tasks.remind_expiring_wechat_qr", "schedule": timedelta(hours=1)},
    # Automatic member tags from behaviour; broadcasts whose sending request died midway (segments).
    "auto-tags": {"task": "segments.tasks.recompute_auto_tags", "schedule": timedelta(minutes=30)},
    "broadcast-finish": {"task": "segments.tasks.finish_broadcasts", "schedule": timedelta(minutes=5)},
    # Analytics fact tables: rebuild the days whose sources changed since the last run (analytics.facts).
    "analytics-facts": {"task": "analytics.tasks.refresh_facts", "schedule": timedelta(minutes=10)},
}
# /healthz calls the worker "recently alive" if its heartbeat is younger than this.
WORKER_HEARTBEAT_MAX_AGE = timedelta(seconds=int(os.environ.get("WORKER_HEARTBEAT_MAX_AGE", "120")))
# A periodic job's lease (shequn.jobs): renewed every third of it while the job runs, so a killed worker's
# job is taken up again within this time, however long the job itself takes.
JOB_LEASE_TTL = timedelta(seconds=int(os.environ.get("JOB_LEASE_SECONDS", "60")))
# /healthz answers "degraded" when an outbox row has waited longer than this for its pump (shequn.outboxes).
OUTBOX_BACKLOG_MAX_AGE = timedelta(seconds=int(os.environ.get("OUTBOX_BACKLOG_MAX_AGE", "300")))
# /healthz keeps the outboxes' figures (one aggregate per outbox table) this long in the cache: load
# balancers probe every few seconds, and an outbox problem matters only after minutes. 0 = every probe.
HEALTH_OUTBOX_CACHE_SECONDS = int(os.environ.get("HEALTH_OUTBOX_CACHE_SECONDS", "10"))

# Sessions in PostgreSQL alone (one primary-key read a request), not cached in Redis: with Redis down a cached
# copy could not be deleted, so a session signed out during the outage would sign its holder in again when
# Redis came back with its data (docker-compose keeps an append-only file). tests/test_redis_down.py.
SESSION_ENGINE = "django.contrib.sessions.backends.db"

# --- Accounts -------------------------------------------------------------------------------
AUTH_USER_MODEL = "accounts.User"
AUTHENTICATION_BACKENDS = [
    "django.contrib.auth.backends.ModelBackend",
    "allauth.account.auth_backends.AuthenticationBackend",
]
AUTH_PASSWORD_VALIDATORS = [
    {"NAME": "django.contrib.auth.password_validation.UserAttributeSimilarityValidator"},
    {"NAME": "django.contrib.auth.password_validation.MinimumLengthValidator"},
    {"NAME": "django.contrib.auth.password_validation.CommonPasswordValidator"},
    {"NAME": "django.contrib.auth.password_validation.NumericPasswordValidator"},
]
LOGIN_URL = "account_login"
LOGIN_REDIRECT_URL = "home"
LOGOUT_REDIRECT_URL = "home"

# Members: mainland mobile number + one-time SMS code. Operators: e-mail + password.
ACCOUNT_ADAPTER = "accounts.adapter.AccountAdapter"
ACCOUNT_LOGIN_METHODS = {"phone", "email"}
# Sign-up is closed (accounts.adapter); these fields only shape the login: the password field is there
# for operators (e-mail + password), and the phone is optional so an operator without one is not sent
# to phone verification. Members get their account from the SMS-code form (accounts.forms).
ACCOUNT_SIGNUP_FIELDS = ["email*", "phone", "password1"]
ACCOUNT_EMAIL_VERIFICATION = "none"
SOCIALACCOUNT_ADAPTER = "accounts.adapter.SocialAccountAdapter"
SOCIALACCOUNT_EMAIL_REQUIRED = False  # WeChat gives no e-mail address
ACCOUNT_PHONE_VERIFICATION_ENABLED = True
ACCOUNT_PHONE_VERIFICATION_SUPPORTS_RESEND = True
ACCOUNT_PHONE_VERIFICATION_TIMEOUT = 600
ACCOUNT_LOGIN_BY_CODE_ENABLED = True
ACCOUNT_LOGIN_BY_CODE_TIMEOUT = 600
ACCOUNT_LOGIN_BY_CODE_MAX_ATTEMPTS = 5
ACCOUNT_LOGIN_BY_CODE_SUPPORTS_RESEND = True
# Six digits, as every Chinese app sends them (and phones offer to autofill them from the SMS).
ACCOUNT_LOGIN_BY_CODE_FORMAT = {"numeric": True, "length": 6, "dashed": False}
ACCOUNT_PHONE_VERIFICATION_CODE_FORMAT = {"numeric": True, "length": 6, "dashed": False}
ACCOUNT_USER_DISPLAY = "accounts.models.public_name_of"
ACCOUNT_FORMS = {"request_login_code": "accounts.forms.PhoneCodeLoginForm"}
ACCOUNT_LOGOUT_ON_GET = False
ACCOUNT_RATE_LIMITS = {
    # allauth's defaults, plus an explicit cap on codes per phone number.
    "login_failed": "10/m/ip,5/5m/key",
    "login": "30/m/ip",
    "signup": "20/m/ip",
    "confirm_email": "1/3m/key",
    "reset_password": "20/m/ip,5/m/key",
    "change_phone": "1/m/user",
    "request_login_code": "20/m/ip,3/m/key",
    # Used by accounts.admin_login for the Django admin's own login form.
    "admin_login": "20/m/ip,5/5m/key",
}
HEADLESS_ONLY = False
HEADLESS_SERVE_SPECIFICATION = True
# allauth's own page loads Redoc from a CDN; ours loads the sidecar's copy (templates/headless/spec).
HEADLESS_SPECIFICATION_TEMPLATE_NAME = "headless/spec/redoc.html"
HEADLESS_CLIENTS = ("app", "browser")
SOCIALACCOUNT_ONLY = False

# SMS: a dotted path to a class implementing accounts.sms.SmsBackend (README "SMS"): the log,
# accounts.sms.AliyunSmsBackend or accounts.sms.TencentSmsBackend.
SMS_BACKEND = os.environ.get("SMS_BACKEND", "accounts.sms.LogSmsBackend")
SMS_SIGN_NAME = os.environ.get("SMS_SIGN_NAME", "社群")
# kind -> template id, or {"id": …, "params": [variable names in the template's order]}; "notification"
# serves every notification kind without its own (variables shop, title, body).
SMS_TEMPLATES = json.loads(os.environ.get("SMS_TEMPLATES") or "{}")
# Per kind ("*" for the others): "count/seconds" windows per number and per client address.
SMS_LIMITS = {
    "verification_code": {"number": ["1/60", "5/3600", "10/86400"], "ip": ["10/3600", "50/86400"]},
    "*": {"number": ["20/86400"], "shop": [f"{int(os.environ.get('SMS_PER_SHOP_PER_DAY', '5000'))}/86400"]},
}
# Members' sign-in by SMS code (accounts.signin, README "SMS"): wrong codes per number a day (the cap on
# guessing), wrong codes per address and per device an hour, code requests per device an hour, and the
# back-off between codes to one number (first wait, longest wait, in seconds).
SIGNIN_WRONG_CODES_PER_DAY = int(os.environ.get("SIGNIN_WRONG_CODES_PER_DAY", "10"))
SIGNIN_WRONG_CODES_PER_HOUR = 30
SIGNIN_CODES_PER_DEVICE_PER_HOUR = 10
SIGNIN_CODE_BACKOFF = (60, 3600)
SMS_HTTP_TIMEOUT = float(os.environ.get("SMS_HTTP_TIMEOUT", "10"))
ALIYUN_ACCESS_KEY_ID = os.environ.get("ALIYUN_ACCESS_KEY_ID", "")
ALIYUN_ACCESS_KEY_SECRET = os.environ.get("ALIYUN_ACCESS_KEY_SECRET", "")
ALIYUN_SMS_ENDPOINT = os.environ.get("ALIYUN_SMS_ENDPOINT", "https://dysmsapi.aliyuncs.com")
TENCENTCLOUD_SECRET_ID = os.environ.get("TENCENTCLOUD_SECRET_ID", "")
TENCENTCLOUD_SECRET_KEY = os.environ.get("TENCENTCLOUD_SECRET_KEY", "")
TENCENT_SMS_SDK_APP_ID = os.environ.get("TENCENT_SMS_SDK_APP_ID", "")
TENCENT_SMS_REGION = os.environ.get("TENCENT_SMS_REGION", "ap-guangzhou")
TENCENT_SMS_ENDPOINT = os.environ.get("TENCENT_SMS_ENDPOINT", "https://sms.tencentcloudapi.com")

# Member notifications (notifications/channels.py documents the backends): WeChat template/subscribe
# messages go through this class; the default writes them to the log, notifications.wechat.
# WechatMessageBackend sends them (README "WeChat").
NOTIFICATION_BACKENDS = {
    "wechat": os.environ.get("WECHAT_MESSAGE_BACKEND", "notifications.channels.LogWechatBackend"),
}
WECHAT_API_BASE = os.environ.get("WECHAT_API_BASE", "https://api.weixin.qq.com")
WECHAT_HTTP_TIMEOUT = float(os.environ.get("WECHAT_HTTP_TIMEOUT", "10"))
# kind -> {"id": template id, "fields": {template field: title|body|shop|url or a fixed text}};
# "notification" serves the kinds without their own.
WECHAT_TEMPLATES = json.loads(os.environ.get("WECHAT_TEMPLATES") or "{}")
WECHAT_SUBSCRIBE_TEMPLATES = json.loads(os.environ.get("WECHAT_SUBSCRIBE_TEMPLATES") or "{}")
WECHAT_MINIPROGRAM_APP_ID = os.environ.get("WECHAT_MINIPROGRAM_APP_ID", "")
WECHAT_MINIPROGRAM_SECRET = os.environ.get("WECHAT_MINIPROGRAM_SECRET", "")
WECHAT_MINIPROGRAM_STATE = os.environ.get("WECHAT_MINIPROGRAM_STATE", "formal")

# E-mail
EMAIL_BACKEND = os.environ.get(
    "EMAIL_BACKEND",
    "django.core.mail.backends.console.EmailBackend"
    if DEBUG or not os.environ.get("EMAIL_HOST")
    else "django.core.mail.backends.smtp.EmailBackend",
)
EMAIL_HOST = os.environ.get("EMAIL_HOST", "localhost")
EMAIL_PORT = int(os.environ.get("EMAIL_PORT", "25"))
EMAIL_HOST_USER = os.environ.get("EMAIL_HOST_USER", "")
EMAIL_HOST_PASSWORD = os.environ.get("EMAIL_HOST_PASSWORD", "")
EMAIL_USE_TLS = env_bool("EMAIL_USE_TLS", False)
DEFAULT_FROM_EMAIL = os.environ.get("DEFAULT_FROM_EMAIL", "shequn@localhost")
SERVER_EMAIL = DEFAULT_FROM_EMAIL

# --- Payments -------------------------------------------------------------------------------
# name -> class implementing orders.payments.base.PaymentProvider (see README "Payments"). Shops choose
# theirs and enter their merchant credentials in the dashboard; a shop without one uses
# PAYMENT_PROVIDER when it needs no account (the simulated provider: development and demos only).
PAYMENT_PROVIDERS = {
    "wechatpay": "orders.payments.wechatpay.WechatPayProvider",
    "alipay": "orders.payments.alipay.AlipayProvider",
    "simulated": "orders.payments.simulated.SimulatedProvider",
}
DEFAULT_PAYMENT_PROVIDER = os.environ.get("PAYMENT_PROVIDER", "simulated" if DEBUG else "")
# With DEBUG off the simulated cashier (anyone marks their own order paid) must be allowed explicitly;
# orders.checks refuses to start otherwise (orders.E001).
ALLOW_SIMULATED_PAYMENTS = env_bool("ALLOW_SIMULATED_PAYMENTS", False)
SIMULATED_PAY_SECRET = os.environ.get("SIMULATED_PAY_SECRET", "")
# Where the simulated provider (it runs in our worker) posts its callbacks; empty: SITE_URL. docker-compose
# sets the web service, so a worker never posts to its own localhost. Real providers use SITE_URL.
INTERNAL_CALLBACK_URL = os.environ.get("INTERNAL_CALLBACK_URL", "").rstrip("/")
# The providers' API addresses: their production gateways unless configured (a sandbox, a local fake).
WECHATPAY_API_BASE = os.environ.get("WECHATPAY_API_BASE", "https://api.mch.weixin.qq.com")
ALIPAY_GATEWAY = os.environ.get("ALIPAY_GATEWAY", "https://openapi.alipay.com/gateway.do")
# Seconds a provider call may take before it counts as failed (and is retried or reported).
PAYMENT_HTTP_TIMEOUT = float(os.environ.get("PAYMENT_HTTP_TIMEOUT", "10"))
# Fernet keys sealing merchant secrets at rest (shequn.sealed); empty: derived from SECRET_KEY.
CREDENTIALS_KEYS = env_list("CREDENTIALS_KEYS")
# How the simulated provider answers refunds (tests change it): outcome success|fail, duplicate, delay_seconds.
SIMULATED_REFUND_BEHAVIOUR = {"outcome": "success", "duplicate": False, "delay_seconds": 0}

# --- API ------------------------------------------------------------------------------------
REST_FRAMEWORK = {
    "DEFAULT_AUTHENTICATION_CLASSES": [
        "allauth.headless.contrib.rest_framework.authentication.XSessionTokenAuthentication",
        "rest_framework.authentication.SessionAuthentication",
    ],
    "DEFAULT_PERMISSION_CLASSES": ["rest_framework.permissions.IsAuthenticated"],
    "DEFAULT_SCHEMA_CLASS": "drf_spectacular.openapi.AutoSchema",
    "EXCEPTION_HANDLER": "shequn.api.exception_handler",
    "DEFAULT_PAGINATION_CLASS": "shequn.api.BoundedLimitOffsetPagination",
    "PAGE_SIZE": 50,
}
SPECTACULAR_SETTINGS = {
    "TITLE": "Shequn API",
    "DESCRIPTION": "社群 community-commerce API for member clients (H5 / mini-program) and integrations. "
    "Sign-in flows are allauth headless: see /_allauth/openapi.html.",
    "VERSION": "1.0.0",
    "SERVE_INCLUDE_SCHEMA": False,
    "POSTPROCESSING_HOOKS": ["drf_spectacular.hooks.postprocess_schema_enums", "shequn.api.document_refused_requests"],
    # /api/docs/ from our own static files (drf-spectacular-sidecar, pinned), not a CDN at @latest.
    "SWAGGER_UI_DIST": "SIDECAR",
    "SWAGGER_UI_FAVICON_HREF": "SIDECAR",
    "REDOC_DIST": "SIDECAR",
    # Groups, orders, payments, refunds and after-sales cases each have a `state`: one named enum per model.
    "ENUM_NAME_OVERRIDES": {
        "GroupStateEnum": "groups.models.GroupState",
        "GroupTargetStateEnum": "groups.serializers.TARGET_STATES",
        "OrderStateEnum": "orders.models.OrderState",
        "PaymentStateEnum": "orders.models.PaymentState",
        "RefundStateEnum": "orders.models.RefundState",
        "CaseStateEnum": "orders.models.CaseState",
        "MembershipStatusEnum": "groups.models.MembershipStatus",
        "ReferralEventKindEnum": "referrals.models.EventKind",
        "RewardKindEnum": "referrals.models.RewardKind",
        "RewardStatusEnum": "referrals.models.RewardStatus",
        "WithdrawalStatusEnum": "referrals.models.WithdrawalStatus",
        "StewardRoleEnum": "referrals.models.StewardRole",
        "RoleEnum": "groups.models.MemberRole",  # its name before StewardRole (a subset) shared the field name
        "StewardRewardKindEnum": "referrals.models.StewardRewardKind",
        "StewardRewardStatusEnum": "referrals.models.StewardRewardStatus",
        "SpacePostKindEnum": "groups.space_models.PostKind",
        "ChannelEnum": "groups.models.Channel",
        "CouponChannelEnum": "campaigns.types.coupon.models.CouponChannel",
        "PlaybookStepActionEnum": "playbooks.models.StepAction",
        "PlaybookRunStepStateEnum": "playbooks.models.RunStepState",
        "FeedbackKindEnum": "groups.feedback_models.FeedbackKind",
        "FeedbackStateEnum": "groups.feedback_models.FeedbackState",
    },
}

# --- i18n, time, money ----------------------------------------------------------------------
LANGUAGE_CODE = "zh-hans"
LANGUAGES = [("zh-hans", "简体中文"), ("en", "English")]
LOCALE_PATHS = [BASE_DIR / "locale"]
TIME_ZONE = "Asia/Shanghai"
USE_I18N = True
USE_TZ = True
CURRENCY = "CNY"

# --- Static and media -----------------------------------------------------------------------
STATIC_URL = "/static/"
STATIC_ROOT = DATA_DIR / "static"
STATICFILES_DIRS = [BASE_DIR / "static"]
MEDIA_URL = "/media/"
MEDIA_ROOT = Path(os.environ.get("MEDIA_ROOT", DATA_DIR / "media"))
STORAGES = {
    "default": {"BACKEND": "django.core.files.storage.FileSystemStorage"},
    "staticfiles": {
        "BACKEND": "whitenoise.storage.CompressedManifestStaticFilesStorage"
        if not DEBUG
        else "django.contrib.staticfiles.storage.StaticFilesStorage"
    },
}
# Uploaded images (shequn.images) are refused above this size, and above this many pixels (checked on the
# header, before decoding: a small file can declare a huge picture). Pillow's own bomb guard gets the same
# limit, so no other Image.open (posters) decodes more either.
MAX_IMAGE_UPLOAD_BYTES = int(os.environ.get("MAX_IMAGE_UPLOAD_BYTES", str(5 * 1024 * 1024)))
MAX_IMAGE_PIXELS = int(os.environ.get("MAX_IMAGE_PIXELS", str(40_000_000)))
Image.MAX_IMAGE_PIXELS = MAX_IMAGE_PIXELS
POSTER_FONT_PATH = os.environ.get("POSTER_FONT_PATH", "")

# --- Security (production) ------------------------------------------------------------------
SECURE_PROXY_SSL_HEADER = ("HTTP_X_FORWARDED_PROTO", "https")
# The client's address behind the TLS proxy (shequn.client: rate limits, sign-in limits, fraud flags):
# how many proxies in front of web append to X-Forwarded-For, or the one header a proxy sets instead.
ALLAUTH_TRUSTED_PROXY_COUNT = int(os.environ.get("TRUSTED_PROXY_COUNT", "0"))
ALLAUTH_TRUSTED_CLIENT_IP_HEADER = os.environ.get("TRUSTED_CLIENT_IP_HEADER") or None
SECURE_SSL_REDIRECT = env_bool("SECURE_SSL_REDIRECT", not DEBUG)
# /healthz, and the simulated provider's callbacks from our own worker over the internal network.
SECURE_REDIRECT_EXEMPT = [r"^healthz$", r"^pay/notify/simulated/$"]
SESSION_COOKIE_SECURE = env_bool("SESSION_COOKIE_SECURE", not DEBUG)
CSRF_COOKIE_SECURE = env_bool("CSRF_COOKIE_SECURE", not DEBUG)
SECURE_HSTS_SECONDS = int(os.environ.get("SECURE_HSTS_SECONDS", "0" if DEBUG else "31536000"))
SECURE_HSTS_INCLUDE_SUBDOMAINS = env_bool("SECURE_HSTS_INCLUDE_SUBDOMAINS", not DEBUG)
SECURE_HSTS_PRELOAD = env_bool("SECURE_HSTS_PRELOAD", False)
SECURE_CONTENT_TYPE_NOSNIFF = True
X_FRAME_OPTIONS = "DENY"

LOGGING = {
    "version": 1,
    "disable_existing_loggers": False,
    "formatters": {"plain": {"format": "%(asctime)s %(levelname)s %(name)s: %(message)s"}},
    "handlers": {"console": {"class": "logging.StreamHandler", "formatter": "plain"}},
    "root": {"handlers": ["console"], "level": os.environ.get("LOG_LEVEL", "INFO")},
}
