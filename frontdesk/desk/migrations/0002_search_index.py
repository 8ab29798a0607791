"""The full-text search index: FTS5 tables (SQLite) or tsvector side tables with GIN indexes
(PostgreSQL, with the Polish dictionary where the server has it), kept in step by triggers.

The DDL lives in frontdesk.desk.search.sqlite / .postgres (install is idempotent); see docs/search.md.
"""

from django.db import migrations


def install(apps, schema_editor):
    from frontdesk.desk.search import backend_for

    backend_for(schema_editor.connection).install(schema_editor.connection)


def uninstall(apps, schema_editor):
    from frontdesk.desk.search import backend_for

    backend_for(schema_editor.connection).uninstall(schema_editor.connection)


class Migration(migrations.Migration):
    dependencies = [("desk", "0001_initial")]

    operations = [migrations.RunPython(install, uninstall, elidable=False)]
