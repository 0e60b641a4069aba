"""The fieldlink matching hub (FastAPI); built in its own issue."""
