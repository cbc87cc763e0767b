"""Security headers, safe redirects, and role checks shared by every area."""

from __future__ import annotations

import logging
import re
from collections.abc import Callable
from functools import wraps
from typing import Any, TypeVar
from urllib.parse import urlsplit

from flask import Flask, Response, abort, request
from flask_login import current_user

CONTENT_SECURITY_POLICY = "; ".join(
    [
        "default-src 'self'",
        "script-src 'self'",
        "style-src 'self'",
        "img-src 'self' data:",
        "font-src 'self'",
        "connect-src 'self'",
        "object-src 'none'",
        "base-uri 'none'",
        "form-action 'self'",
        "frame-ancestors 'none'",
    ]
)


def install_security_headers(app: Flask) -> None:
    """Send a strict CSP and the usual hardening headers with every response."""

    @app.after_request
    def _headers(response: Response) -> Response:
        response.headers.setdefault("Content-Security-Policy", CONTENT_SECURITY_POLICY)
        response.headers.setdefault("X-Content-Type-Options", "nosniff")
        response.headers.setdefault("X-Frame-Options", "DENY")
        response.headers.setdefault("Referrer-Policy", "same-origin")
        response.headers.setdefault(
            "Permissions-Policy", "camera=(), microphone=(), geolocation=(), interest-cohort=()"
        )
        if app.config.get("SESSION_COOKIE_SECURE"):
            response.headers.setdefault(
                "Strict-Transport-Security", "max-age=31536000; includeSubDomains"
            )
        if request.endpoint != "static":
            response.headers.setdefault("Cache-Control", "no-store")
        return response


# Secret tokens travel in some URLs: calendar feeds, and the e-mailed action links
# `/l/<purpose>/<record>/<token>` (also with `/fresh` after the token). Access logs of the
# development server and gunicorn would print them, and so might any message or traceback
# that quotes an address; these are masked before any handler sees them.
_SECRET_PATHS = re.compile(r"(/calendar/)[^/\s\"?]+(\.ics)|(/l/[^/\s\"?]+/[^/\s\"?]+/)[^/\s\"?]+")


def redact(text: str) -> str:
    """`text` with the secret part of every tokened address replaced by "[redacted]"."""
    return _SECRET_PATHS.sub(_mask, text)


def _mask(match: re.Match[str]) -> str:
    if match.group(1):
        return f"{match.group(1)}[redacted]{match.group(2)}"
    return f"{match.group(3)}[redacted]"


def redact_record(record: logging.LogRecord) -> None:
    """Mask tokens in a log record's message and traceback (in place)."""
    try:
        message = record.getMessage()
    except Exception:
        return  # a broken record: its handler reports it, as it would without this
    redacted = redact(message)
    if redacted != message:
        record.msg, record.args = redacted, ()
    if record.exc_info and not record.exc_text:
        # Formatted now as the handlers would (they reuse `exc_text`), so that an exception
        # quoting an address leaves no token in the traceback either.
        text = logging.Formatter().formatException(record.exc_info)
        if redact(text) != text:
            record.exc_text = redact(text)


class RedactSecrets(logging.Filter):
    """Masks tokens in logged request lines."""

    def filter(self, record: logging.LogRecord) -> bool:
        redact_record(record)
        return True


# A filter sees only the records of its own logger, not those its children pass up: the
# access logs have one, and every record made in the process is masked when it is made.
REDACTED_LOGGERS = ("werkzeug", "gunicorn.access", "gunicorn.error")


def install_log_redaction() -> None:
    """Mask secrets in every log record of this process (access logs included); idempotent."""
    for name in REDACTED_LOGGERS:
        logger = logging.getLogger(name)
        if not any(isinstance(f, RedactSecrets) for f in logger.filters):
            logger.addFilter(RedactSecrets())
    factory = logging.getLogRecordFactory()
    if getattr(factory, "redacts_secrets", False):
        return

    def redacting_factory(*args: Any, **kwargs: Any) -> logging.LogRecord:
        record = factory(*args, **kwargs)
        redact_record(record)
        return record

    redacting_factory.redacts_secrets = True  # type: ignore[attr-defined]
    logging.setLogRecordFactory(redacting_factory)


def safe_next_url(target: str | None) -> str | None:
    """Return `target` only if it is a path on this site; anything else gives None."""
    if not target:
        return None
    if any(ord(ch) < 32 or ch == "\\" for ch in target):
        return None
    if not target.startswith("/") or target.startswith("//"):
        return None
    parts = urlsplit(target)
    if parts.scheme or parts.netloc:
        return None
    return target


F = TypeVar("F", bound=Callable[..., Any])


def roles_required(*roles: str) -> Callable[[F], F]:
    """Allow a view only to the given roles; others get the same 404 as a missing page."""

    def decorator(view: F) -> F:
        @wraps(view)
        def wrapped(*args: Any, **kwargs: Any) -> Any:
            if not current_user.is_authenticated or current_user.role.value not in roles:
                abort(404)
            return view(*args, **kwargs)

        return wrapped  # type: ignore[return-value]

    return decorator
