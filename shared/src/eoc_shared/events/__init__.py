"""Event envelope, payload schemas, outbox relay, inbox and consumer runtime."""
