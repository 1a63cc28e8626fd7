"""The one exception type for bad user input.

Every user-facing entry point raises :class:`UserError` for input the user can fix (a recipe key, a
dataset column, an output directory). The CLI prints its message without a traceback and exits with
status 2; library callers catch it like any ``ValueError``.
"""


class UserError(ValueError):
    """Bad input from the user. The message says what was wrong, where, and how to fix it."""


def explained(func, describe, catch: type[Exception] | tuple = Exception):
    """``func()``; an exception of ``catch`` becomes a UserError reading ``describe(err)``, without a traceback (a
    UserError passes as it is): where a library or a user's own code fails on input the user can fix."""
    try:
        return func()
    except UserError:
        raise
    except catch as err:
        raise UserError(describe(err)) from None


def exit_code(func, *args) -> int:
    """``func(*args)``'s exit status, or 2 with the message on stderr when it raises a UserError: what every
    command-line entry point does with bad input (no traceback)."""
    import sys

    try:
        return func(*args)
    except UserError as err:
        print(f"error: {err}", file=sys.stderr)
        return 2
