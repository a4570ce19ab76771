"""Runs: their store, the replay pass and the commands it carries out, timers and wake-ups,
what starts runs (triggers) and what advances them (action results)."""
