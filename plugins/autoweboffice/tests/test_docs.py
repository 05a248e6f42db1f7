"""docs/connectors/autoweboffice.md agrees with the code: settings, triggers and their cost, state flags."""

from pathlib import Path

from unpaid_autoweboffice.mapping import FLAGS, STATUS_FROM_NATIVE
from unpaid_autoweboffice.plugin import SETTINGS, TRIGGERS

DOC = Path(__file__).resolve().parents[3] / "docs" / "connectors" / "autoweboffice.md"


def test_every_setting_trigger_and_state_flag_is_documented():
    text = DOC.read_text(encoding="utf-8")
    cost = text.split("## What each command costs", 1)[1].split("\n## ", 1)[0]
    assert [s.key for s in SETTINGS if f"`{s.key}`" not in text] == []
    assert [t for t in TRIGGERS if f"`{t}`" not in cost] == []
    for flag, (word, _date, at) in FLAGS.items():
        assert f"`{flag} = 1`" in text and word in text and f"`{at}`" in text
    assert all(f"`{code}`" in text for code in STATUS_FROM_NATIVE) and "`unmapped`" in text
