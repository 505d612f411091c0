"""Test support shared by every service's tests: a real broker, real PostgreSQL databases, apps in-process."""
