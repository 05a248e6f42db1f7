"""The demo, start to end, in Russian and in Ukrainian: no English left for a manager to puzzle over."""

from __future__ import annotations

import re

import pytest

#: Latin words the demo prints on purpose: names of commands and options a reader types, file and
#: source names, formats, and the data of the sample shop (e-mail addresses, product codes).
_ALLOWED = {
    "unpaid", "csv", "CSV", "json", "jsonl", "JSON", "SMTP", "toml", "outbox", "shop", "demo", "sync", "dedupe",
    "apply", "orders", "plan", "run", "queue", "take", "next", "outcome", "show", "all", "now", "dir", "eml",
    "example", "com", "org", "net", "html", "txt", "cron", "help",
    # the demo playbook's own names (config identifiers typed in commands) and its channel's name
    "reminders", "reminder", "offer", "offer_letter", "call", "email",
    # product names of the sample shop that are brands
    "SMM", "Excel",
}
_CODE = re.compile(r"(?m)^\s*unpaid [^#\n]*|== unpaid [^—\n]*|`[^`]*`|--[a-z][a-z-]*|\S+@\S+|(?:\.{0,2}/)?(?:[\w.-]+/)+[\w.-]*|https?://\S+|\b\w+:\d+\b"
                   r"|\bunpaid(?: [a-z-]+)+|\b[\w-]+\.(?:toml|csv|db|txt|eml|html|md)\b")
_WORD = re.compile(r"\b[A-Za-z][A-Za-z']{2,}\b")


def english_words(text: str) -> list[str]:
    """Words of three or more Latin letters outside code, paths, addresses and the allowed names."""
    stripped = _CODE.sub(" ", text)
    return sorted({w for w in _WORD.findall(stripped) if w not in _ALLOWED and w.lower() not in _ALLOWED})


def test_the_english_detector_sees_english_and_passes_code():
    assert english_words("shop: 400 rows read, 0 rejected") == ["read", "rejected", "rows"]
    assert english_words("== unpaid dedupe --apply — заказы с оплаченным дублем: shop:100161 `unpaid.toml`") == []


@pytest.mark.parametrize("language, phrases", [
    ("ru", ("заказ", "Ожидаем оплаты")),
    ("uk", ("замовлен", "Очікуємо оплату")),
])
def test_the_demo_reads_in_the_language_without_untranslated_english(cli, tmp_path, monkeypatch, language, phrases):
    pytest.importorskip("unpaid_csv")
    monkeypatch.setenv("UNPAID_LOAD_PLUGINS", "csv")
    result = cli(["demo", "--dir", str(tmp_path / "shop")], env={"UNPAID_LANG": language})
    assert result.exit_code == 0, result.stderr
    text = result.stdout + result.stderr
    for phrase in phrases:
        assert phrase in text
    assert english_words(text) == []
