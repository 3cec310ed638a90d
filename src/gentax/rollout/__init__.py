"""Running episodes: one at a time for simple policies (batched LLM rollouts build on this)."""
