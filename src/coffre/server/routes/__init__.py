"""HTTP routes, one module per resource; each declares its schema and the caller it needs."""

# Every module of wire models, so that build_all() below reaches all of them.
import coffre.protocol.help
import coffre.protocol.support
import coffre.protocol.tickets  # noqa: F401
from coffre.protocol import models

models.build_all()  # before any route module declares a model as a body or an answer
