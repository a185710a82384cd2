"""The one error of the domain: a broken rule, with a code for machines and a detail for people."""


class ChatError(Exception):
    """A request that breaks a rule; `code` is machine-readable, `detail` is shown to the user."""

    def __init__(self, code, detail, **extra):
        super().__init__(detail)
        self.code = code
        self.detail = detail
        self.extra = extra  # more fields for the error frame, e.g. retry_after
