"""unpaid connector for CSV order exports."""
