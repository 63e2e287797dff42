"""URL queries kept out of logs and error texts: customers put tokens in callback URLs' queries.

urllib3 logs every request it sends with its path and query (at DEBUG), and its
errors carry them (``Max retries exceeded with url: /hook?token=…``). The
``UrlQueriesRedacted`` filter, set on urllib3's loggers in ``LOGGING``, and
``without_url_queries``, applied to the error text of an attempt, replace a
query by ``?***``.
"""

import logging
import re

REDACTED_QUERY = "?***"
# A query runs from "?" to the end of the URL: a space, a quote, a bracket or the end.
_QUERY = re.compile(r"\?[^\s\"'<>()\[\]]*")


def without_url_queries(text: str) -> str:
    """``text`` with the query of every URL (or path) in it replaced by ``?***``."""
    return _QUERY.sub(REDACTED_QUERY, text) if "?" in text else text


class UrlQueriesRedacted(logging.Filter):
    """A log filter: the record's message without URL queries (the record is kept)."""

    def filter(self, record: logging.LogRecord) -> bool:
        message = record.getMessage()
        redacted = without_url_queries(message)
        if redacted != message:
            record.msg, record.args = redacted, ()
        return True
