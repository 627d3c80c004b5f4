"""Client errors are the client's: a rejected request is one WARNING line, not an ERROR with
a traceback that buries real failures (BentoML logs every 400 as an exception)."""

from __future__ import annotations

import logging

from bentoml.exceptions import BentoMLException
from pydantic import ValidationError

BENTOML_HTTP_LOGGER = "bentoml._internal.server.http_app"


class ClientErrorsAreQuiet(logging.Filter):
    """Turn BentoML's exception records for 4xx requests into one-line warnings.

    The line names the fields and problems, never the values (posted histories are
    customer data).
    """

    def filter(self, record: logging.LogRecord) -> bool:
        exc = record.exc_info[1] if record.exc_info else None
        if isinstance(exc, ValidationError):
            problems = "; ".join(
                f"{'.'.join(map(str, e['loc']))}: {e['msg']}"
                for e in exc.errors(include_input=False, include_context=False)[:5]
            )
            detail = f"{exc.error_count()} invalid field(s): {problems}"
        elif isinstance(exc, BentoMLException) and exc.error_code.value < 500:
            detail = f"{exc.error_code.value} {type(exc).__name__}"
        else:
            return True
        record.msg, record.args = (
            "%s rejected: %s",
            (record.args[0] if record.args else "request", detail),
        )
        record.levelno, record.levelname = logging.WARNING, "WARNING"
        record.exc_info = record.exc_text = None
        return True


def quiet_client_errors() -> None:
    """Install the filter once (idempotent: reloading the module adds no second copy)."""
    logger = logging.getLogger(BENTOML_HTTP_LOGGER)
    if not any(isinstance(f, ClientErrorsAreQuiet) for f in logger.filters):
        logger.addFilter(ClientErrorsAreQuiet())
