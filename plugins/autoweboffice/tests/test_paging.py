"""A sync always ends, however the server pages: short page, empty page, no-items text, the last page
again, or pages past what the account can hold."""

import pytest

from awo_env import KEYS, NOW, make_connector
from unpaid.connector import InvalidData
from unpaid_autoweboffice.emulator import Emulator
from unpaid_autoweboffice.paging import ceiling, walk
from unpaid_autoweboffice.seeds import bulk_seed


def shop(invoices, **options):
    seed = bulk_seed(invoices, NOW, lines_per_invoice=2, subdomain="school")
    seed["keys"] = {"get": KEYS["get_key"], "set": KEYS["set_key"]}
    return Emulator(seed, rate_limit=None, **options)


def budget(emu, requests):
    """Make the emulator fail every request past ``requests``: a sync that would never end fails instead."""
    handle = emu.handle

    def limited(method, path, query, body):
        if emu.stats.requests >= requests:
            return 500, "budget spent: the client did not stop paging", {}
        return handle(method, path, query, body)

    emu.handle = limited


@pytest.mark.parametrize("past_end", ["empty", "repeat"])
@pytest.mark.parametrize("total_header", [False, True])
def test_a_count_that_is_a_multiple_of_the_page_size_ends(past_end, total_header):
    with shop(100, past_end=past_end, total_header=total_header) as emu:
        budget(emu, 30)
        conn = make_connector(emu, page_size=50)
        orders = [o for p in conn.fetch_orders(None) for o in p.orders]
        requests = emu.stats.requests
    assert len(orders) == 100 and all(len(o.items) == 2 for o in orders)
    # invoices: 2 full pages and one more (empty, or the last again); lines: 4 full pages and one more;
    # plus one read of the highest id per walk when the server reports no total
    assert requests == 3 + 5 + (0 if total_header else 2)


def test_a_server_that_never_stops_is_stopped_at_the_ceiling_with_a_clear_error():
    served = []

    def endless(page):  # different rows on every page, full every time
        served.append(page)
        return [{"id_account": str(page * 2 + k)} for k in range(2)]

    with pytest.raises(InvalidData, match="kept answering the accounts search past page 6") as info:
        list(walk("awo", "accounts", endless, 2, limit=lambda: ceiling(7, 2)))
    assert len(served) == 6 and "next sync resumes" in info.value.fix


def test_the_ceiling_comes_from_the_reported_total_or_the_highest_id():
    assert ceiling(100, 50) == 4 and ceiling(0, 50) == 2 and ceiling(None, 50) >= 10_000
    with shop(7) as emu:
        assert make_connector(emu).client.highest_id("accounts") == 7


def test_the_request_costs_the_docs_state():
    from unpaid.model import Status
    from unpaid_autoweboffice.seeds import demo_seed

    with Emulator(demo_seed(NOW, subdomain="school"), rate_limit=None, now=lambda: NOW) as emu:
        emu.account.get_key, emu.account.set_key = KEYS["get_key"], KEYS["set_key"]
        conn = make_connector(emu)

        def cost(call):
            before = emu.stats.requests
            call()
            return emu.stats.requests - before

        pages = []
        assert cost(lambda: pages.extend(conn.fetch_orders(None))) == 2  # one page of invoices, one of lines
        assert cost(lambda: list(conn.fetch_orders(pages[-1].bookmark))) == 1  # nothing new, re-read included
        assert cost(lambda: conn.fetch_order("1001")) == 2
        assert cost(lambda: conn.push_status("1001", Status.CANCELLED, "Дорого")) == 1  # comment from the read
        assert cost(lambda: conn.add_comment("1002", "Перезвонить")) == 2
        assert cost(lambda: conn.update_contact("1002", phone="+79990001122")) == 3
