"""Two reads of every intake through PL/pgSQL functions, whose plans PostgreSQL caches (issue
#20).

The client sends its statements with their values inline, so PostgreSQL parses, rewrites (the
row-level security policies) and plans each one on every call. `pg_stat_statements` showed two
fixed-shape reads of every intake spending more on planning than on running:

- the privacy team (privacy_requests.alerts.privacy_team_ids): 160 µs planning, 13 µs
  executing;
- the deadline rules' state (privacy_requests.rules.selectors.organization_rules): 105 µs
  planning, 102 µs executing.

`privacy_team_members(organization, roles)` and `privacy_rules_state(organization)` run the
same queries inside PL/pgSQL, which plans them once per connection and reuses the plan (as
audit_event_append does for record()). Nothing else changes: the functions run as the caller
(SECURITY INVOKER, the default), so the same privileges and row-level security policies apply
as to the queries written out.
"""

from django.db import migrations

TEAM = """
CREATE OR REPLACE FUNCTION privacy_team_members(p_organization_id bigint, p_roles text[])
RETURNS TABLE (member_user_id bigint, member_role text) LANGUAGE plpgsql STABLE AS $$
BEGIN
    -- active memberships of active users with one of the roles, by user id
    RETURN QUERY
        SELECT m.user_id, m.role::text
        FROM accounts_membership m JOIN accounts_user u ON u.id = m.user_id
        WHERE m.organization_id = p_organization_id AND m.is_active AND u.is_active
          AND m.role = ANY(p_roles)
        ORDER BY m.user_id;
END;
$$;
"""
RULES = """
CREATE OR REPLACE FUNCTION privacy_rules_state(p_organization_id bigint)
RETURNS TABLE (book_digest text, contracts_digest text, selection text[])
LANGUAGE plpgsql STABLE AS $$
BEGIN
    -- md5 of every column of every row, in primary key order (NULL: no rows), and the
    -- organization's rule selection
    RETURN QUERY SELECT
        (SELECT md5(string_agg(r::text, '|' ORDER BY r.id))
         FROM privacy_requests_jurisdictionrule r),
        (SELECT md5(string_agg(c::text, '|' ORDER BY c.id))
         FROM privacy_requests_contractrule c WHERE c.organization_id = p_organization_id),
        ARRAY(SELECT s.rule_id::text FROM privacy_requests_organizationruleselection s
              WHERE s.organization_id = p_organization_id ORDER BY s.rule_id);
END;
$$;
"""
DROP = """
DROP FUNCTION privacy_team_members(bigint, text[]);
DROP FUNCTION privacy_rules_state(bigint);
"""


class Migration(migrations.Migration):
    dependencies = [("privacy_requests", "0010_k12cloud_service_level")]

    operations = [migrations.RunSQL(TEAM + RULES, DROP)]
