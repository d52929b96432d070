-- Change capture for new_posts_sensor (PostgreSQL): statement-level AFTER triggers with transition
-- tables and the writing transaction id, like product_change.postgresql.sql (sensors/README.md, "Late
-- commits"). `day` is the post's UTC day (its daily partition). Only what the pipeline reads
-- (channel, text, posted_at) counts as an edit. Re-running this script replaces everything.

-- enable_nestloop = off, as in product_change.postgresql.sql: PL/pgSQL plans each statement once per
-- connection with the transition tables' row count of that first call. After a one-row edit on a
-- connection, a later bulk UPDATE would join new_rows and old_rows with a nested loop (20,000 posts:
-- minutes instead of a fraction of a second). Hash joins are right for every size.
CREATE OR REPLACE FUNCTION post_change_capture() RETURNS trigger
LANGUAGE plpgsql SET enable_nestloop = off AS $$
DECLARE
    tx bigint := pg_current_xact_id()::text::bigint;
BEGIN
    IF TG_OP = 'INSERT' THEN
        INSERT INTO post_change (post_id, day, op, txid)
        SELECT n.id, to_char(n.posted_at AT TIME ZONE 'UTC', 'YYYY-MM-DD'), 'I', tx FROM new_rows n;
    ELSIF TG_OP = 'UPDATE' THEN
        INSERT INTO post_change (post_id, day, op, txid)
        SELECT n.id, to_char(n.posted_at AT TIME ZONE 'UTC', 'YYYY-MM-DD'), 'U', tx
        FROM new_rows n LEFT JOIN old_rows o ON o.id = n.id
        WHERE o.id IS NULL OR (o.channel, o.text, o.posted_at) IS DISTINCT FROM (n.channel, n.text, n.posted_at);
        -- The day (or id) a post left loses it.
        INSERT INTO post_change (post_id, day, op, txid)
        SELECT o.id, to_char(o.posted_at AT TIME ZONE 'UTC', 'YYYY-MM-DD'), 'D', tx
        FROM old_rows o LEFT JOIN new_rows n ON n.id = o.id
        WHERE n.id IS NULL
           OR to_char(o.posted_at AT TIME ZONE 'UTC', 'YYYY-MM-DD') <> to_char(n.posted_at AT TIME ZONE 'UTC', 'YYYY-MM-DD');
    ELSE
        INSERT INTO post_change (post_id, day, op, txid)
        SELECT o.id, to_char(o.posted_at AT TIME ZONE 'UTC', 'YYYY-MM-DD'), 'D', tx FROM old_rows o;
    END IF;
    RETURN NULL;
END
$$;

DROP TRIGGER IF EXISTS post_change_insert ON post;
DROP TRIGGER IF EXISTS post_change_update ON post;
DROP TRIGGER IF EXISTS post_change_delete ON post;

CREATE TRIGGER post_change_insert AFTER INSERT ON post
    REFERENCING NEW TABLE AS new_rows
    FOR EACH STATEMENT EXECUTE FUNCTION post_change_capture();

CREATE TRIGGER post_change_update AFTER UPDATE ON post
    REFERENCING OLD TABLE AS old_rows NEW TABLE AS new_rows
    FOR EACH STATEMENT EXECUTE FUNCTION post_change_capture();

CREATE TRIGGER post_change_delete AFTER DELETE ON post
    REFERENCING OLD TABLE AS old_rows
    FOR EACH STATEMENT EXECUTE FUNCTION post_change_capture();
