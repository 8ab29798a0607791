"""Django's SQLite backend, with the writing threads of one process taking turns (base.py)."""
