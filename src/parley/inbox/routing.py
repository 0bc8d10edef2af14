"""Choosing an agent for a conversation: O(agents) per decision, never a scan of conversations.

Each agent row carries its count of open conversations (kept by the service), so every policy decides from
the business's agent list alone: round robin walks agents in id order after the number's cursor, least-open
takes the agent with the fewest, by-label takes the least-busy agent whose skills include one of the
conversation's labels. Agents who are away or offline, disabled, or at capacity are skipped.
"""

from __future__ import annotations

from collections.abc import Sequence

from parley.inbox.repository import AgentRow


def eligible(agents: Sequence[AgentRow]) -> list[AgentRow]:
    return [
        a
        for a in agents
        if a.disabled_at is None
        and a.availability == "online"
        and a.password_hash is not None
        and a.open_count < a.capacity
    ]


def choose_agent(
    policy: str, agents: Sequence[AgentRow], cursor_agent_id: int | None, label_ids: Sequence[int]
) -> AgentRow | None:
    """The agent to assign, or None (the conversation waits in the queue)."""
    candidates = eligible(agents)
    if policy == "manual" or not candidates:
        return None
    if policy == "round_robin":
        ordered = sorted(candidates, key=lambda a: a.id)
        after = [a for a in ordered if cursor_agent_id is None or a.id > cursor_agent_id]
        return (after or ordered)[0]
    if policy == "by_label":
        wanted = set(label_ids)
        if wanted:
            candidates = [a for a in candidates if wanted & set(a.skill_ids)]
            if not candidates:
                return None
    return min(candidates, key=lambda a: (a.open_count, a.id))
