"""The metadata database: schema, engine, migrations."""
