"""No secret in the web process's logs (SPEC §8 "Secrets", access logs included).

Secrets ride in requests in three places a log line would show: the Basic-auth user name
(the API key: gunicorn's default access log format prints it), paths (an inbox's token
``/inbox/<token>/…``, a portal sign-in link ``/portal/link/<token>``, an email confirmation
``/callbacks/confirm/<token>``, a file's ``/v1/files/content/<token>/…``, an invitation's
link) and query strings (a receiver's or a customer's own tokens). Here:

- ``masked_path``: the path with the token of those routes replaced by ``***``;
- ``AccessLogger``: gunicorn's logger (``logger_class`` in deploy/gunicorn.conf.py) whose
  access log atoms never hold the user name, a token of a path, a query (``?***``), a
  secret header or the referer's; ``ACCESS_LOG_FORMAT`` names no user;
- ``SecretPathsMasked``: a logging filter for Django's own lines (``django.request``'s "Not
  Found: /portal/link/<token>", ``django.security.*``, the development server's request
  lines in ``make dev``), wired by ``logging_config``, which is ``settings.LOGGING``.
"""

import logging
import re
from urllib.parse import urlsplit, urlunsplit

from gunicorn.glogging import Logger

MASK = "***"
# The routes whose path segment after the prefix is a secret (a token), and those to come
# (invitation links), whatever follows it.
SECRET_SEGMENT = re.compile(
    r"(/(?:inbox|portal/link|callbacks/confirm|v1/files/content|portal/invitations?|invitations?)/)"
    r"[^/?#\s\"']+"
)
QUERY = re.compile(r"\?[^\s\"#]*")

ACCESS_LOG_FORMAT = '%(h)s - - %(t)s "%(r)s" %(s)s %(b)s "%(f)s" "%(a)s"'


def masked_path(text: str) -> str:
    """``text`` (a path, a request line, a log message) with the token of each secret route masked."""
    return SECRET_SEGMENT.sub(lambda m: m.group(1) + MASK, text)


def masked_query(text: str) -> str:
    """``text`` with every query string replaced by ``?***``."""
    return QUERY.sub("?" + MASK, text)


def masked_url(url: str) -> str:
    """A URL (a referer) with its path's tokens masked and its query replaced."""
    if not url or url == "-":
        return url
    try:
        parts = urlsplit(url)
        netloc = parts.netloc.rpartition("@")[2]  # no credentials
    except ValueError:
        return MASK
    return urlunsplit((parts.scheme, netloc, masked_path(parts.path), MASK if parts.query else "", ""))


# Request header and environ atoms a custom format could name that may hold a secret.
SECRET_ATOMS = (
    "{authorization}i",
    "{cookie}i",
    "{proxy-authorization}i",
    "{http_authorization}e",
    "{http_cookie}e",
    "{http_proxy_authorization}e",
    "{raw_uri}e",
    "{request_uri}e",
    "{query_string}e",
    "{path_info}e",
    "{http_referer}e",
)


class AccessLogger(Logger):
    """gunicorn's logger, its access log atoms without a secret (the module's docstring)."""

    def atoms(self, resp, req, environ, request_time):
        atoms = super().atoms(resp, req, environ, request_time)
        path = masked_path(environ.get("RAW_URI") or environ.get("PATH_INFO") or "")
        if "?" in path:
            path = masked_query(path)
        atoms["u"] = "-"
        atoms["r"] = f"{environ.get('REQUEST_METHOD')} {path} {environ.get('SERVER_PROTOCOL')}"
        atoms["U"] = masked_path(environ.get("PATH_INFO") or "")
        atoms["q"] = MASK if environ.get("QUERY_STRING") else ""
        atoms["f"] = masked_url(environ.get("HTTP_REFERER", "-"))
        for name in SECRET_ATOMS:
            if name in atoms:
                atoms[name] = MASK
        return atoms


class SecretPathsMasked(logging.Filter):
    """Mask the tokens of secret routes in a record's message (and queries in the development
    server's request lines); the record's arguments are folded into its message then."""

    def filter(self, record: logging.LogRecord) -> bool:
        try:
            message = record.getMessage()
        except Exception:  # a record whose arguments do not fit its message: left as it is
            return True
        masked = masked_path(message)
        if record.name == "django.server":
            masked = masked_query(masked)
        if masked != message:
            record.msg, record.args = masked, None
        return True


def logging_config(*, level: str, q_level: str) -> dict:
    """``settings.LOGGING``: every line on the console, through ``SecretPathsMasked`` (and the
    development server's request lines through it too); ``level`` and ``q_level``: the project's
    and django-q2's levels (``LOG_LEVEL``, ``Q_LOG_LEVEL``)."""
    return {
        "version": 1,
        "disable_existing_loggers": False,
        "formatters": {
            "plain": {"format": "%(asctime)s %(levelname)s %(name)s %(message)s"},
            "django.server": {
                "()": "django.utils.log.ServerFormatter",
                "format": "[{server_time}] {message}",
                "style": "{",
            },
        },
        "filters": {
            "url_queries_redacted": {"()": "scalehooks.outgoing.redaction.UrlQueriesRedacted"},
            # Tokens in paths (inboxes, sign-in links, confirmations, files) masked in Django's own
            # lines ("Not Found: /portal/link/<token>") and the development server's (SPEC §8).
            "secret_paths_masked": {"()": "scalehooks.log_masking.SecretPathsMasked"},
        },
        "handlers": {
            "console": {
                "class": "logging.StreamHandler",
                "formatter": "plain",
                "filters": ["secret_paths_masked"],
            },
            # `make dev`: runserver's request lines, as Django logs them, without a secret.
            "django.server": {
                "class": "logging.StreamHandler",
                "formatter": "django.server",
                "filters": ["secret_paths_masked"],
            },
        },
        "root": {"handlers": ["console"], "level": level},
        "loggers": {
            "django-q": {"level": q_level, "propagate": True},
            "django.server": {"handlers": ["django.server"], "level": "INFO", "propagate": False},
            # Django's default handler of its own lines (printed with DEBUG on) is replaced: they go
            # to the root's console handler, through the filter, once.
            "django": {"handlers": [], "level": "INFO", "propagate": True},
            # Not django-axes' start-up banner, once per process ("AXES: BEGIN"); lockouts still log.
            "axes.apps": {"level": "WARNING", "propagate": True},
            # urllib3 logs the URLs it sends to with their query, where customers put
            # tokens: every urllib3 module that logs a URL gets the filter (a logger's
            # filter does not apply to its children's records).
            **{
                name: {"filters": ["url_queries_redacted"], "propagate": True}
                for name in (
                    "urllib3.connectionpool",
                    "urllib3.connection",
                    "urllib3.poolmanager",
                    "urllib3.util.retry",
                )
            },
        },
    }
