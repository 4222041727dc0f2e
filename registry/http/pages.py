"""Security headers for every HTML page the registry serves."""

from __future__ import annotations

from flask import Response

# Pages load only the registry's own stylesheets and images (data: for small inline
# images), run no script, submit forms only to the registry, and are never framed.
CONTENT_SECURITY_POLICY = (
    "default-src 'none'; style-src 'self'; img-src 'self' data:; "
    "frame-ancestors 'none'; base-uri 'none'; form-action 'self'"
)
HTML_HEADERS = {
    "X-Content-Type-Options": "nosniff",
    "Referrer-Policy": "no-referrer",
}


def html_security_headers(response: Response) -> Response:
    """After a request: on a text/html answer, the policy above (unless the view set a policy
    of its own), nosniff, and no referrer. Other answers pass through unchanged."""
    if response.mimetype != "text/html" or response.status_code in (204, 304):
        # A 204 or 304 has no body: its default type says nothing of the page it stands for.
        return response
    response.headers.setdefault("Content-Security-Policy", CONTENT_SECURITY_POLICY)
    for name, value in HTML_HEADERS.items():
        response.headers[name] = value
    return response
