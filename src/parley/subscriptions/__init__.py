"""Subscriptions: monthly or one-off plans for channels (subscriber-only posts) and paid groups, charged
through Parley Pay with the platform's cut on the ledger."""
