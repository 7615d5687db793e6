"""The two errors a command may show a user; anything else is a bug, handled centrally."""


class UsageError(Exception):
    """The user asked for something wrong; the answer includes the command's usage."""


class CommandError(Exception):
    """The request was well formed but cannot be done; the message says why."""
