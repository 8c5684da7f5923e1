"""The Coffre server: routes → services → backends (database, blob store)."""
