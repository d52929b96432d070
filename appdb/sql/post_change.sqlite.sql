-- Change capture for new_posts_sensor (SQLite): row triggers, like product_change.sqlite.sql.
-- `day` is the post's UTC day (its daily partition): date() reads SQLAlchemy's stored form and
-- applies any UTC offset written with the value. Only what the pipeline reads (channel, text,
-- posted_at) counts as an edit. Re-running this script replaces every trigger (idempotent).

DROP TRIGGER IF EXISTS post_change_insert;
DROP TRIGGER IF EXISTS post_change_update;
DROP TRIGGER IF EXISTS post_change_delete;

CREATE TRIGGER post_change_insert AFTER INSERT ON post
BEGIN
    INSERT INTO post_change (post_id, day, op) VALUES (NEW.id, date(NEW.posted_at), 'I');
END;

CREATE TRIGGER post_change_update AFTER UPDATE ON post
WHEN OLD.id IS NOT NEW.id
  OR OLD.channel IS NOT NEW.channel
  OR OLD.text IS NOT NEW.text
  OR OLD.posted_at IS NOT NEW.posted_at
BEGIN
    INSERT INTO post_change (post_id, day, op) VALUES (NEW.id, date(NEW.posted_at), 'U');
    -- The day (or id) it left loses the post.
    INSERT INTO post_change (post_id, day, op)
    SELECT OLD.id, date(OLD.posted_at), 'D'
    WHERE OLD.id IS NOT NEW.id OR date(OLD.posted_at) IS NOT date(NEW.posted_at);
END;

CREATE TRIGGER post_change_delete AFTER DELETE ON post
BEGIN
    INSERT INTO post_change (post_id, day, op) VALUES (OLD.id, date(OLD.posted_at), 'D');
END;
