-- Change capture for product vectors (PostgreSQL): statement-level AFTER triggers with transition
-- tables, so a bulk UPDATE of a million products costs one set-based INSERT, not a million calls.
-- Every row records the writing transaction (txid) so the sensor can tell a late commit from a
-- gap (sensors/README.md, "Late commits"). Re-running this script replaces everything (idempotent).

-- enable_nestloop = off: PL/pgSQL parses each statement once per connection, and the row count of a
-- transition table is frozen into that parse. After a first one-row or zero-row UPDATE on a
-- connection (a single product saved, a no-op repricing chunk), every later plan believes new_rows
-- and old_rows hold one row and joins them with a nested loop: a 100,000-row UPDATE on that
-- connection then takes hours instead of a second. Hash joins are right for every size.
CREATE OR REPLACE FUNCTION product_change_capture() RETURNS trigger
LANGUAGE plpgsql SET enable_nestloop = off AS $$
DECLARE
    tx bigint := pg_current_xact_id()::text::bigint;
BEGIN
    IF TG_OP = 'INSERT' THEN
        INSERT INTO product_change (product_id, op, txid)
        SELECT n.id, 'I', tx FROM new_rows n;
    ELSIF TG_OP = 'UPDATE' THEN
        -- Only rows whose content changed (a no-op UPDATE is no change); an id that moved is a
        -- delete of the old id.
        INSERT INTO product_change (product_id, op, txid)
        SELECT n.id, 'U', tx
        FROM new_rows n LEFT JOIN old_rows o ON o.id = n.id
        WHERE o.id IS NULL OR o IS DISTINCT FROM n;
        INSERT INTO product_change (product_id, op, txid)
        SELECT o.id, 'D', tx
        FROM old_rows o
        WHERE NOT EXISTS (SELECT 1 FROM new_rows n WHERE n.id = o.id);
    ELSE
        INSERT INTO product_change (product_id, op, txid)
        SELECT o.id, 'D', tx FROM old_rows o;
    END IF;
    RETURN NULL;
END
$$;

-- A category's name is part of the text of its products and of its child categories' products
-- ("Parent / Child"); a new parent changes the path of its own products.
CREATE OR REPLACE FUNCTION product_change_capture_category() RETURNS trigger
LANGUAGE plpgsql AS $$
DECLARE
    tx bigint := pg_current_xact_id()::text::bigint;
BEGIN
    INSERT INTO product_change (product_id, op, txid)
    SELECT p.id, 'U', tx
    FROM product p
    WHERE p.category_id IN (
        SELECT n.id FROM new_rows n JOIN old_rows o ON o.id = n.id
        WHERE (n.name, n.parent_id) IS DISTINCT FROM (o.name, o.parent_id)
        UNION
        SELECT c.id FROM category c
        WHERE c.parent_id IN (
            SELECT n.id FROM new_rows n JOIN old_rows o ON o.id = n.id WHERE n.name IS DISTINCT FROM o.name
        )
    );
    RETURN NULL;
END
$$;

DROP TRIGGER IF EXISTS product_change_insert ON product;
DROP TRIGGER IF EXISTS product_change_update ON product;
DROP TRIGGER IF EXISTS product_change_delete ON product;
DROP TRIGGER IF EXISTS product_change_category_update ON category;

CREATE TRIGGER product_change_insert AFTER INSERT ON product
    REFERENCING NEW TABLE AS new_rows
    FOR EACH STATEMENT EXECUTE FUNCTION product_change_capture();

CREATE TRIGGER product_change_update AFTER UPDATE ON product
    REFERENCING OLD TABLE AS old_rows NEW TABLE AS new_rows
    FOR EACH STATEMENT EXECUTE FUNCTION product_change_capture();

CREATE TRIGGER product_change_delete AFTER DELETE ON product
    REFERENCING OLD TABLE AS old_rows
    FOR EACH STATEMENT EXECUTE FUNCTION product_change_capture();

CREATE TRIGGER product_change_category_update AFTER UPDATE ON category
    REFERENCING OLD TABLE AS old_rows NEW TABLE AS new_rows
    FOR EACH STATEMENT EXECUTE FUNCTION product_change_capture_category();
