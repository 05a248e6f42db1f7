"""The managers' call desk: the daily queue, claims with a lease, call outcomes and what follows them.

Pure parts (:mod:`~unpaid.desk.settings`, :mod:`~unpaid.desk.rules`, :mod:`~unpaid.desk.queue`) take
plain data and ``now``; the I/O parts (:mod:`~unpaid.desk.work`, :mod:`~unpaid.desk.send`) apply their
decisions through the store, the source (``unpaid.actions``) and the channels.
"""
