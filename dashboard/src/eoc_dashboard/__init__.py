"""The Edge of Care dashboard: server-rendered pages over the public APIs, with the signed-in person's token."""
