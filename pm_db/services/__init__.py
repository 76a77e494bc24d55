"""The use cases of pm. Every front end (CLI, shelf, panel, hython, REST) calls these and
nothing else: no front end talks SQL or computes a path on its own."""
