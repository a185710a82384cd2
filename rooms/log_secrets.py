"""Owner keys, watch tokens and webhook tokens travel in URL paths (the owner link, the watch link and its
socket): the server's log must not keep them. The filter goes on uvicorn's loggers when the app
starts; daphne writes its access log elsewhere (run it with `--access-log /dev/null` if kept)."""

import logging
import re

SECRET_IN_PATH = re.compile(r"(/(?:own|watch|hooks)/)[^/?\s\"]+")
SERVER_LOGGERS = ("uvicorn.access", "uvicorn.error")  # HTTP requests; websocket handshakes


def hide_secrets(text):
    return SECRET_IN_PATH.sub(r"\1[hidden]", text)


class HideSecretsInPaths(logging.Filter):
    """Rewrites the path arguments of a server's log line before any handler formats it."""

    def filter(self, record):
        if isinstance(record.args, tuple):
            record.args = tuple(hide_secrets(arg) if isinstance(arg, str) else arg for arg in record.args)
        elif isinstance(record.msg, str):
            record.msg = hide_secrets(record.msg)
        return True


def hide_secrets_in_server_logs():
    for name in SERVER_LOGGERS:
        logger = logging.getLogger(name)
        if not any(isinstance(each, HideSecretsInPaths) for each in logger.filters):
            logger.addFilter(HideSecretsInPaths())
