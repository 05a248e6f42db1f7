"""A message sent by hand whose outcome is unknown is held for review like a playbook's (docs/review.md)."""

from __future__ import annotations

import json
import time
from datetime import timedelta

from tests.channels.smtpd import Flaky, server  # noqa: F401 - server is a fixture
from tests.desk.conftest import NOW, make_order


def test_a_manual_send_the_server_did_not_confirm_is_held_not_failed(desk, server):  # noqa: F811
    inbox = Flaky(stall=1.5)
    config = desk.root / "unpaid.toml"
    config.write_text(config.read_text().replace(
        'type = "outbox"\npath = "outbox"',
        f'type = "smtp"\nhost = "127.0.0.1"\nport = {server(inbox)}\nsecurity = "none"\n'
        'sender = "shop@example.com"\ntimeout = 0.5'))
    desk.add(make_order("1"), task_due=NOW - timedelta(hours=1))
    failed = desk("send shop:1 --template bank_details -m anna", code=1)
    assert "may have been delivered" in failed.stderr and "Traceback" not in failed.output
    time.sleep(1.5)
    assert len(inbox.messages) == 1
    [item] = desk("review", fmt="json").json()
    assert item["order_id"] == "shop:1" and item["playbook"] == "desk" and item["channel"] == "email"
    assert item["message_id"] == inbox.messages[0]["Message-ID"] and "`unpaid send` it again" in item["why"]
    with desk.store() as store:
        from unpaid.store.contacts import Contacts

        assert len(Contacts(store).since("olena@example.com", NOW - timedelta(days=1))) == 1  # the cap counts it
    desk(f"review resolve '{item['key']}' --as sent")
    assert desk("review", fmt="json").json() == []
    history = json.loads(desk("show shop:1 --format json").stdout)["history"]
    assert history[-1]["kind"] == "review" and "as sent" in history[-1]["summary"]
