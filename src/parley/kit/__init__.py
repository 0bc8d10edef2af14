"""Domain-free building blocks: ids, clock, errors, phone numbers, database metadata."""
