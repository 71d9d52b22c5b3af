"""Who is asking: the client address and device of a request, the one definition every limit and flag uses
(sign-in limits, allauth's rate limits, fraud flags, referral events, order and campaign records).

Behind the TLS proxy every connection comes from the proxy, so the client's address is read from
X-Forwarded-For, counting ALLAUTH_TRUSTED_PROXY_COUNT proxies from the right (the entries they appended;
anything to the left of them is the client's to forge), or from the single header a proxy sets
(ALLAUTH_TRUSTED_CLIENT_IP_HEADER). Both come from the environment (README, "Deploying"). With neither,
the connecting address is the client.
"""

import hashlib

from allauth.core.internal import httpkit
from django.core.exceptions import ImproperlyConfigured


def client_ip(request) -> str | None:
    """The client's address as the configured proxies report it (allauth's own reading, which its rate
    limits use too), or None when there is none to read."""
    try:
        return httpkit.get_client_ip(request)
    except ImproperlyConfigured:
        # Fewer forwarded entries than trusted proxies: this request did not come through all of them,
        # so no entry can be trusted; the connecting address is the honest answer (never a 500).
        return httpkit.clean_client_ip(request.META.get("REMOTE_ADDR", "")) or None


def device_id(request) -> str:
    """The app's own device cookie when it sends one, else a hash of the browser's user agent and
    languages: coarse, but the same phone browser gives the same value; "" when there is nothing."""
    device = request.COOKIES.get("sq_device", "")[:64]
    if not device:
        raw = f"{request.META.get('HTTP_USER_AGENT', '')}|{request.META.get('HTTP_ACCEPT_LANGUAGE', '')}"
        device = "ua:" + hashlib.sha256(raw.encode()).hexdigest()[:40] if raw != "|" else ""
    return device


def request_fingerprint(request) -> tuple[str | None, str]:
    """(ip, device id) of a request: what the recording services take as `ip=` and `device=`."""
    return client_ip(request), device_id(request)
