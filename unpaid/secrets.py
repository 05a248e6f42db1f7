"""Secrets: keyring with an environment override, and redaction of every known secret.

A secret for source ``shop`` and key ``api_key`` is read from ``UNPAID_SECRET_SHOP_API_KEY`` first
(cron, CI, containers), then from the system keyring (service ``unpaid``, user ``shop:api_key``).
Every value read is remembered so :func:`redact` can blank it from output, logs and history.
"""

from __future__ import annotations

import os
import re
from typing import Mapping

from unpaid.errors import ConfigError
from unpaid.i18n import _

SERVICE = "unpaid"
MASK = "***"
_known: set[str] = set()
# Query-string credentials as GetCourse and AutoWebOffice take them (key=, apikey=, token=...).
_URL_SECRET = re.compile(r"(?i)\b((?:api)?key|token|secret|password|apikey)=([^&\s\"']+)")
_BEARER = re.compile(r"(?i)(bearer\s+)[A-Za-z0-9._~+/=-]+")


def env_var(source: str, key: str) -> str:
    """The environment variable that overrides a secret: ``UNPAID_SECRET_<SOURCE>_<KEY>``."""
    return "UNPAID_SECRET_" + re.sub(r"[^A-Z0-9]", "_", f"{source}_{key}".upper())


def _keyring():
    # Imported here: keyring costs ~70 ms and most commands never need it.
    import keyring

    return keyring


def get_secret(source: str, key: str, environ: Mapping[str, str] | None = None) -> str | None:
    """Return the secret or None when neither the environment nor the keyring has it."""
    env = os.environ if environ is None else environ
    value = env.get(env_var(source, key))
    if not value:
        try:
            value = _keyring().get_password(SERVICE, f"{source}:{key}")
        except Exception:  # noqa: BLE001 - no usable keyring backend: behave as "not set"
            value = None
    if value:
        remember(value)
    return value or None


def set_secret(source: str, key: str, value: str) -> None:
    """Store a secret in the keyring; ConfigError with the env-var fallback when there is none."""
    remember(value)
    try:
        _keyring().set_password(SERVICE, f"{source}:{key}", value)
    except Exception as exc:  # noqa: BLE001 - keyring raises many backend-specific types
        raise ConfigError(_("cannot store the secret in the system keyring ({error})").format(error=type(exc).__name__),
                          _("set the environment variable {var} instead, "
                            "or install a keyring backend (e.g. `pip install keyrings.alt`)").format(
                              var=env_var(source, key))) from None


def delete_secret(source: str, key: str) -> bool:
    """Remove a secret from the keyring; False when it was not there."""
    try:
        _keyring().delete_password(SERVICE, f"{source}:{key}")
    except Exception:  # noqa: BLE001 - PasswordDeleteError or no backend
        return False
    return True


def keyring_backend() -> str:
    """Name of the active keyring backend, for ``unpaid doctor``."""
    try:
        backend = _keyring().get_keyring()
    except Exception as exc:  # noqa: BLE001
        return f"unavailable ({type(exc).__name__})"
    return f"{type(backend).__module__}.{type(backend).__name__}"


def remember(value: str) -> None:
    """Register a value to be blanked by :func:`redact` (short values are ignored as too common)."""
    if value and len(value) >= 4:
        _known.add(value)


def redact(text: str) -> str:
    """Blank known secrets, ``key=...`` query parameters and bearer tokens from ``text``."""
    if not text:
        return text
    for value in sorted(_known, key=len, reverse=True):
        text = text.replace(value, MASK)
    text = _URL_SECRET.sub(lambda m: f"{m.group(1)}={MASK}", text)
    return _BEARER.sub(lambda m: m.group(1) + MASK, text)
