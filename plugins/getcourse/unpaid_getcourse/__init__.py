"""unpaid connector plugin (work in progress: no connector is registered yet)."""
