"""People's rights over their data: export everything held about them, and erase their account."""
