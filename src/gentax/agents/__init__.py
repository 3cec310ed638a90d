"""How an agent sees a domain and answers it: policies (random, expert; LLM agents later)."""
