"""PostgreSQL refuses to change or delete audit rows, whatever code or SQL asks (invariant 5).

The model and its queryset already refuse in Python; this trigger also stops raw SQL, a
`QuerySet.update` through another manager, a shell, or a bug. One change is let through: the
actor's foreign key may become NULL when that user account is deleted (on_delete=SET_NULL),
with every other column unchanged. TRUNCATE is not blocked: it is how the test runner and
`manage.py flush` empty a database, and it needs table ownership, which the app's role should
not have in production.

SQLite (the development default) keeps the Python-level protection only: its flush deletes
rows one table at a time, which a trigger would block.
"""

from django.db import migrations

CREATE = """
CREATE OR REPLACE FUNCTION treatment_plan_audit_log_append_only() RETURNS trigger AS $$
BEGIN
    IF TG_OP = 'UPDATE'
       AND OLD.actor_id IS NOT NULL AND NEW.actor_id IS NULL
       AND (to_jsonb(NEW) - 'actor_id') = (to_jsonb(OLD) - 'actor_id') THEN
        RETURN NEW;  -- the actor's account was deleted (ON DELETE SET NULL)
    END IF;
    RAISE EXCEPTION 'treatment_plan_audit_log is append-only: % refused', TG_OP
        USING ERRCODE = 'restrict_violation';
END;
$$ LANGUAGE plpgsql;

DROP TRIGGER IF EXISTS treatment_plan_audit_log_append_only ON treatment_plan_audit_log;
CREATE TRIGGER treatment_plan_audit_log_append_only
    BEFORE UPDATE OR DELETE ON treatment_plan_audit_log
    FOR EACH ROW EXECUTE FUNCTION treatment_plan_audit_log_append_only();
"""

DROP = """
DROP TRIGGER IF EXISTS treatment_plan_audit_log_append_only ON treatment_plan_audit_log;
DROP FUNCTION IF EXISTS treatment_plan_audit_log_append_only();
"""


def create_trigger(apps, schema_editor):
    if schema_editor.connection.vendor == "postgresql":
        schema_editor.execute(CREATE, params=None)


def drop_trigger(apps, schema_editor):
    if schema_editor.connection.vendor == "postgresql":
        schema_editor.execute(DROP, params=None)


class Migration(migrations.Migration):
    dependencies = [
        ("healthcare", "0001_initial"),
    ]

    operations = [
        migrations.RunPython(create_trigger, drop_trigger, elidable=False),
    ]
