"""Typed, bounded reads of a connector's or channel's settings, for plugins.

Every error is a ConfigError naming the section, the key, the value and the accepted range, so a typo
like ``page_size = "lots"`` stops the command with exit 2 before anything is fetched or sent.
"""

from __future__ import annotations

from typing import Any, Mapping

from unpaid.errors import ConfigError
from unpaid.i18n import _

#: The longest wait, timeout or window a setting may give, in seconds: a week.
MAX_SECONDS = 7 * 86400


def _given(settings: Mapping[str, Any], key: str, default: Any) -> Any:
    value = settings.get(key)
    return default if value is None or value == "" else value


def whole(settings: Mapping[str, Any], key: str, where: str, default: int, lo: int, hi: int) -> int:
    """``settings[key]`` as a whole number from ``lo`` to ``hi`` (digits in a string are accepted)."""
    value = _given(settings, key, default)
    if isinstance(value, str) and value.strip().isdigit() and len(value.strip()) <= 18:
        value = int(value.strip())
    if isinstance(value, bool) or not isinstance(value, int):
        raise ConfigError(_("{where} {key} = {value!r} is not a whole number")
                          .format(where=where, key=key, value=value),
                          _("write e.g. {key} = {default} ({lo} to {hi})")
                          .format(key=key, default=default, lo=lo, hi=hi))
    if not lo <= value <= hi:
        raise ConfigError(_("{where} {key} = {value} is out of range").format(where=where, key=key, value=value),
                          _("use a whole number from {lo} to {hi}").format(lo=lo, hi=hi))
    return value


def seconds(settings: Mapping[str, Any], key: str, where: str, default: str, lo: float = 0.0,
            hi: float = MAX_SECONDS) -> float:
    """``settings[key]`` as seconds: a number (``0.5``), ``"0.5s"`` or a duration (``"2m"``, ``"1h30m"``)."""
    from unpaid.clock import parse_duration

    value = _given(settings, key, default)
    if isinstance(value, bool):
        raise ConfigError(_("{where} {key} = {value!r} is not a duration").format(where=where, key=key, value=value),
                          _('write e.g. {key} = "{default}"').format(key=key, default=default))
    if isinstance(value, (int, float)):
        result = float(value)
    else:
        text = str(value).strip().lower()
        try:  # seconds, possibly fractional: "0.5" or "0.5s" (tests poll fast)
            result = float(text.removesuffix("s"))
        except ValueError:
            try:
                result = parse_duration(text).total_seconds()
            except ValueError as exc:
                raise ConfigError(f"{where} {key}: {exc}",
                                  _('write e.g. {key} = "{default}"').format(key=key, default=default)) from None
    if not lo <= result <= hi:  # also false for nan
        raise ConfigError(_("{where} {key} = {value} is out of range").format(where=where, key=key, value=repr(value)),
                          _('use from {lo:g} to {hi:g} seconds, e.g. {key} = "{default}"').format(
                              lo=lo, hi=hi, key=key, default=default))
    return result


def zone(settings: Mapping[str, Any], key: str, where: str, default: str) -> Any:
    """``settings[key]`` as a time zone (an IANA name such as ``Europe/Moscow``)."""
    from unpaid.clock import get_zone

    value = _given(settings, key, default)
    try:
        return get_zone(str(value))
    except ValueError as exc:
        raise ConfigError(f"{where} {key}: {exc}",
                          _('write e.g. {key} = "{default}"').format(key=key, default=default)) from None
