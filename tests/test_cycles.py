import gc

import pytest

from unpaid.cycles import no_cycle_collection


def test_the_collector_is_off_inside_and_as_it_was_after():
    assert gc.isenabled()
    with no_cycle_collection():
        assert not gc.isenabled()
        with no_cycle_collection():  # nested: still off after the inner block
            pass
        assert not gc.isenabled()
    assert gc.isenabled()
    with pytest.raises(KeyError), no_cycle_collection():
        raise KeyError("x")
    assert gc.isenabled()  # back on after a failure too
    gc.disable()
    try:
        with no_cycle_collection():
            pass
        assert not gc.isenabled()  # one that was off stays off
    finally:
        gc.enable()
