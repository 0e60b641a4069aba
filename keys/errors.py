"""Exceptions raised by keys.

* KeyMaterialError
  + WeakSecretError      - secret material is too short or otherwise unusable
  + KeyFileError         - a key file is missing, malformed, or readable by others
    + WrongPassphrase    - a protected private-key file did not open with the passphrase
  + TamperedKey          - a wrapped secret was altered, or is bound to another project,
                           agency, key or epoch than expected
  + TamperedEnvelope     - a sealed disclosure envelope was altered, moved to another record,
                           batch or project, or sealed for another team key
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


class WrongPassphrase(KeyFileError):
    """A passphrase-protected private-key file did not decrypt: wrong passphrase, or altered."""


class TamperedKey(KeyMaterialError):
    """A wrapped secret failed a check: altered, or not meant for this project, agency or key.

    Nothing is ever returned from a wrapped key that raises this.
    """


class TamperedEnvelope(KeyMaterialError):
    """A sealed envelope failed a check: altered, moved, or sealed for another team key."""
