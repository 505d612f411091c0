"""Shared library of the Edge of Care platform: settings, database, events, auth, errors."""
