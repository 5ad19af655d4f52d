"""A published document version cannot change in the database either (the admin and the
service refuse first): an UPDATE may only fill the notice bookkeeping columns, and a
published version cannot be deleted."""

from django.db import migrations

IMMUTABLE = """
CREATE FUNCTION trust_documentversion_refuse_change() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    IF OLD.published_at IS NULL THEN
        IF TG_OP = 'DELETE' THEN RETURN OLD; END IF;
        RETURN NEW;
    END IF;
    IF TG_OP = 'DELETE' THEN
        RAISE EXCEPTION 'trust: published document version % cannot be deleted', OLD.id
            USING ERRCODE = 'integrity_constraint_violation';
    END IF;
    IF NEW.document IS DISTINCT FROM OLD.document
        OR NEW.number IS DISTINCT FROM OLD.number
        OR NEW.body IS DISTINCT FROM OLD.body
        OR NEW.summary IS DISTINCT FROM OLD.summary
        OR NEW.material IS DISTINCT FROM OLD.material
        OR NEW.effective_on IS DISTINCT FROM OLD.effective_on
        OR NEW.published_at IS DISTINCT FROM OLD.published_at
        OR NEW.content_hash IS DISTINCT FROM OLD.content_hash
    THEN
        RAISE EXCEPTION 'trust: published document version % cannot be changed', OLD.id
            USING ERRCODE = 'integrity_constraint_violation';
    END IF;
    RETURN NEW;
END;
$$;
CREATE TRIGGER trust_documentversion_immutable BEFORE UPDATE OR DELETE ON trust_documentversion
    FOR EACH ROW EXECUTE FUNCTION trust_documentversion_refuse_change();
"""
REVERSE = """
DROP TRIGGER IF EXISTS trust_documentversion_immutable ON trust_documentversion;
DROP FUNCTION IF EXISTS trust_documentversion_refuse_change();
"""


class Migration(migrations.Migration):
    dependencies = [("trust", "0001_trust")]

    operations = [migrations.RunSQL(IMMUTABLE, REVERSE)]
