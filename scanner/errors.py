"""User-facing errors: the CLI prints them as one line and exits non-zero, never a traceback."""

from __future__ import annotations


class ScannerError(Exception):
    """A mistake in the input or the environment that the user can fix."""


class StoreError(ScannerError):
    """The provenance store cannot be opened or written as asked."""


class PolicyError(ScannerError, ValueError):
    """A policy cannot be made as asked (a ValueError too: callers that caught one still do)."""


class UnknownPolicy(PolicyError):
    """A policy name that is not one of `scanner.decide.POLICY_NAMES`."""


class InvalidURL(ScannerError):
    """A URL without an http(s) scheme and host: it has no origin, so nothing can judge it."""

    def __init__(self, url: object, what: str = "") -> None:
        self.url = url
        super().__init__(f"{what}{url!r} is not an http(s) URL with a host")


class ManifestError(ScannerError):
    """A manifest is invalid; names the file and the key."""

    def __init__(self, path: str, key: str, problem: str) -> None:
        self.path, self.key, self.problem = path, key, problem
        super().__init__(f"{path}: {key}: {problem}")


class InputError(ScannerError):
    """A corpus or evidence file cannot be read; names the file and where."""

    def __init__(self, path: str, problem: str, where: str | None = None) -> None:
        self.path, self.problem, self.where = path, problem, where
        loc = f" ({where})" if where else ""
        super().__init__(f"{path}{loc}: {problem}")


class Interrupted(BaseException):
    """SIGTERM or SIGINT during a long job: committed work is kept, the job can be re-run.

    A BaseException like KeyboardInterrupt, so no `except Exception` swallows it.
    """

    def __init__(self, signum: int, message: str = "") -> None:
        self.signum, self.message = signum, message
        super().__init__(message or f"interrupted by signal {signum}")

    @property
    def exit_code(self) -> int:
        return 128 + self.signum
