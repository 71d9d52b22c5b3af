"""A Content-Security-Policy on every response that does not set its own (media sets a stricter one).

Scripts run only from our own static files: there is no inline script or event handler in the templates
(page behaviour lives in static/js, wired by data attributes), and Swagger UI and Redoc are served from
drf-spectacular-sidecar's static files, so an injected <script> or onclick= does nothing. Styles may be
inline (templates use style attributes; CSS cannot run code). Images may come from any https host:
WeChat avatars live on WeChat's image servers. Redoc builds its search worker from a blob.
"""

POLICY = "; ".join(
    [
        "default-src 'self'",
        "script-src 'self'",
        "style-src 'self' 'unsafe-inline'",
        "img-src 'self' data: blob: https:",
        "font-src 'self' data:",
        "connect-src 'self'",
        "worker-src 'self' blob:",
        "object-src 'none'",
        "base-uri 'self'",
        "frame-ancestors 'none'",
    ]
)


def content_security_policy(get_response):
    def middleware(request):
        response = get_response(request)
        response.headers.setdefault("Content-Security-Policy", POLICY)
        return response

    return middleware
