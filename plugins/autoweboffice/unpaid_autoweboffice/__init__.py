"""unpaid connector for AutoWebOffice (АвтоВебОфис): invoices with their lines and contacts.

``plugin`` registers it; ``connector`` (built on ``client`` and the pure ``mapping``) does the work;
``emulator`` is a loopback copy of the API for tests and ``unpaid demo --source autoweboffice``.
"""
