"""Services: what the server does, in terms of database sessions and the blob store."""
