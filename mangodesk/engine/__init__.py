"""The access-code lifecycle engine: planner output goes to a durable outbox, workers run it."""
