"""HTTP routes, one module per resource; each declares its schema and the caller it needs."""
