-- Change capture for chat_messages_sensor (PostgreSQL): statement-level AFTER triggers with
-- transition tables and the writing transaction id, like appdb/sql/product_change.postgresql.sql
-- (sensors/README.md, "Late commits"). Inserts, and edits of the text (the only column the topic
-- depends on). Deletes need no topic: message_topic rows go with ON DELETE CASCADE.
-- Re-running this script replaces everything.

CREATE OR REPLACE FUNCTION chat_message_change_capture() RETURNS trigger
LANGUAGE plpgsql AS $$
DECLARE
    tx bigint := pg_current_xact_id()::text::bigint;
BEGIN
    IF TG_OP = 'INSERT' THEN
        INSERT INTO chat_message_change (message_id, op, txid) SELECT n.id, 'I', tx FROM new_rows n;
    ELSE
        INSERT INTO chat_message_change (message_id, op, txid)
        SELECT n.id, 'U', tx
        FROM new_rows n LEFT JOIN old_rows o ON o.id = n.id
        WHERE o.id IS NULL OR o.text IS DISTINCT FROM n.text;
    END IF;
    RETURN NULL;
END
$$;

DROP TRIGGER IF EXISTS chat_message_change_insert ON chat_message;
DROP TRIGGER IF EXISTS chat_message_change_update ON chat_message;

CREATE TRIGGER chat_message_change_insert AFTER INSERT ON chat_message
    REFERENCING NEW TABLE AS new_rows
    FOR EACH STATEMENT EXECUTE FUNCTION chat_message_change_capture();

CREATE TRIGGER chat_message_change_update AFTER UPDATE ON chat_message
    REFERENCING OLD TABLE AS old_rows NEW TABLE AS new_rows
    FOR EACH STATEMENT EXECUTE FUNCTION chat_message_change_capture();
