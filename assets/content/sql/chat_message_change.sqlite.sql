-- Change capture for chat_messages_sensor (SQLite): row triggers, like appdb/sql/product_change.sqlite.sql.
-- Inserts, and edits of the text (the only column the topic depends on). Re-running replaces every trigger.

DROP TRIGGER IF EXISTS chat_message_change_insert;
DROP TRIGGER IF EXISTS chat_message_change_update;

CREATE TRIGGER chat_message_change_insert AFTER INSERT ON chat_message
BEGIN
    INSERT INTO chat_message_change (message_id, op, changed_at) VALUES (NEW.id, 'I', strftime('%Y-%m-%d %H:%M:%f', 'now'));
END;

CREATE TRIGGER chat_message_change_update AFTER UPDATE ON chat_message
WHEN OLD.id IS NOT NEW.id OR OLD.text IS NOT NEW.text
BEGIN
    INSERT INTO chat_message_change (message_id, op, changed_at) VALUES (NEW.id, 'U', strftime('%Y-%m-%d %H:%M:%f', 'now'));
END;
