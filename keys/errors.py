"""Exceptions raised by keys.

* KeyMaterialError
  + WeakSecretError  - secret material is too short or otherwise unusable
  + KeyFileError     - a key file is missing, malformed, or readable by others
"""


class KeyMaterialError(Exception):
    """Base class of every error raised by `keys`; messages never contain key bytes."""


class WeakSecretError(KeyMaterialError):
    """Secret material is too short to be a linkage secret."""


class KeyFileError(KeyMaterialError):
    """A key file cannot be used: missing, malformed, or readable by group or others."""

    def __init__(self, path: str, reason: str) -> None:
        super().__init__(f"key file {path}: {reason}")
        self.path = path
        self.reason = reason

    def __reduce__(self) -> tuple[type["KeyFileError"], tuple[str, str]]:
        return (type(self), (self.path, self.reason))
