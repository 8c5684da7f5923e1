"""Wire models and field types shared by the server and the client."""
