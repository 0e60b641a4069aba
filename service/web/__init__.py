"""The hub's web pages: the API docs (Swagger UI, ReDoc), with every asset served by the hub."""
