-- Change capture for assistant_changes_sensor (PostgreSQL): statement-level AFTER triggers with
-- transition tables and the writing transaction id, like appdb/sql/product_change.postgresql.sql
-- (sensors/README.md, "Late commits"). Each logs the changed entity and what its OLD row pointed at when
-- that changed (an option's old category, a rule's old options): their documents stated it. The sensor's run expands
-- the rest from the current rows. An UPDATE that changes nothing is no change; an id that moves is a
-- delete of the old id. Re-running this script replaces everything (idempotent).
--
-- enable_nestloop = off: PL/pgSQL parses each statement once per connection and freezes the transition
-- tables' row counts into that plan; after a one-row UPDATE every later plan on the connection would
-- nested-loop a 100,000-row UPDATE for hours (see product_change.postgresql.sql). Hash joins fit every size.

CREATE OR REPLACE FUNCTION assistant_change_category() RETURNS trigger
LANGUAGE plpgsql SET enable_nestloop = off AS $$
DECLARE
    tx bigint := pg_current_xact_id()::text::bigint;
BEGIN
    IF TG_OP = 'INSERT' THEN
        INSERT INTO assistant_change (entity_type, entity_id, op, txid)
        SELECT 'category', n.id, 'I', tx FROM new_rows n;
    ELSIF TG_OP = 'UPDATE' THEN
        INSERT INTO assistant_change (entity_type, entity_id, op, txid)
        SELECT 'category', n.id, 'U', tx
        FROM new_rows n LEFT JOIN old_rows o ON o.id = n.id
        WHERE o.id IS NULL OR o IS DISTINCT FROM n;
        INSERT INTO assistant_change (entity_type, entity_id, op, txid)
        SELECT 'category', o.id, 'D', tx
        FROM old_rows o
        WHERE NOT EXISTS (SELECT 1 FROM new_rows n WHERE n.id = o.id);
    ELSE
        INSERT INTO assistant_change (entity_type, entity_id, op, txid)
        SELECT 'category', o.id, 'D', tx FROM old_rows o;
    END IF;
    RETURN NULL;
END
$$;

CREATE OR REPLACE FUNCTION assistant_change_option() RETURNS trigger
LANGUAGE plpgsql SET enable_nestloop = off AS $$
DECLARE
    tx bigint := pg_current_xact_id()::text::bigint;
BEGIN
    IF TG_OP = 'INSERT' THEN
        INSERT INTO assistant_change (entity_type, entity_id, op, txid)
        SELECT 'option', n.id, 'I', tx FROM new_rows n;
    ELSIF TG_OP = 'UPDATE' THEN
        INSERT INTO assistant_change (entity_type, entity_id, op, txid)
        SELECT 'option', n.id, 'U', tx
        FROM new_rows n LEFT JOIN old_rows o ON o.id = n.id
        WHERE o.id IS NULL OR o IS DISTINCT FROM n;
        INSERT INTO assistant_change (entity_type, entity_id, op, txid)
        SELECT 'option', o.id, 'D', tx
        FROM old_rows o
        WHERE NOT EXISTS (SELECT 1 FROM new_rows n WHERE n.id = o.id);
        INSERT INTO assistant_change (entity_type, entity_id, op, txid)
        SELECT 'category', o.category_id, 'U', tx
        FROM old_rows o LEFT JOIN new_rows n ON n.id = o.id
        WHERE o.category_id IS NOT NULL AND (n.id IS NULL OR o.category_id IS DISTINCT FROM n.category_id);
    ELSE
        INSERT INTO assistant_change (entity_type, entity_id, op, txid)
        SELECT 'option', o.id, 'D', tx FROM old_rows o;
        INSERT INTO assistant_change (entity_type, entity_id, op, txid)
        SELECT 'category', o.category_id, 'U', tx FROM old_rows o WHERE o.category_id IS NOT NULL;
    END IF;
    RETURN NULL;
END
$$;

CREATE OR REPLACE FUNCTION assistant_change_product() RETURNS trigger
LANGUAGE plpgsql SET enable_nestloop = off AS $$
DECLARE
    tx bigint := pg_current_xact_id()::text::bigint;
BEGIN
    IF TG_OP = 'INSERT' THEN
        INSERT INTO assistant_change (entity_type, entity_id, op, txid)
        SELECT 'product', n.id, 'I', tx FROM new_rows n;
    ELSIF TG_OP = 'UPDATE' THEN
        INSERT INTO assistant_change (entity_type, entity_id, op, txid)
        SELECT 'product', n.id, 'U', tx
        FROM new_rows n LEFT JOIN old_rows o ON o.id = n.id
        WHERE o.id IS NULL OR o IS DISTINCT FROM n;
        INSERT INTO assistant_change (entity_type, entity_id, op, txid)
        SELECT 'product', o.id, 'D', tx
        FROM old_rows o
        WHERE NOT EXISTS (SELECT 1 FROM new_rows n WHERE n.id = o.id);
    ELSE
        INSERT INTO assistant_change (entity_type, entity_id, op, txid)
        SELECT 'product', o.id, 'D', tx FROM old_rows o;
    END IF;
    RETURN NULL;
END
$$;

CREATE OR REPLACE FUNCTION assistant_change_incompatibility_rule() RETURNS trigger
LANGUAGE plpgsql SET enable_nestloop = off AS $$
DECLARE
    tx bigint := pg_current_xact_id()::text::bigint;
BEGIN
    IF TG_OP = 'INSERT' THEN
        INSERT INTO assistant_change (entity_type, entity_id, op, txid)
        SELECT 'incompatibility_rule', n.id, 'I', tx FROM new_rows n;
    ELSIF TG_OP = 'UPDATE' THEN
        INSERT INTO assistant_change (entity_type, entity_id, op, txid)
        SELECT 'incompatibility_rule', n.id, 'U', tx
        FROM new_rows n LEFT JOIN old_rows o ON o.id = n.id
        WHERE o.id IS NULL OR o IS DISTINCT FROM n;
        INSERT INTO assistant_change (entity_type, entity_id, op, txid)
        SELECT 'incompatibility_rule', o.id, 'D', tx
        FROM old_rows o
        WHERE NOT EXISTS (SELECT 1 FROM new_rows n WHERE n.id = o.id);
        INSERT INTO assistant_change (entity_type, entity_id, op, txid)
        SELECT 'option', o.option_id, 'U', tx
        FROM old_rows o LEFT JOIN new_rows n ON n.id = o.id
        WHERE o.option_id IS NOT NULL AND (n.id IS NULL OR o.option_id IS DISTINCT FROM n.option_id);
        INSERT INTO assistant_change (entity_type, entity_id, op, txid)
        SELECT 'option', o.incompatible_option_id, 'U', tx
        FROM old_rows o LEFT JOIN new_rows n ON n.id = o.id
        WHERE o.incompatible_option_id IS NOT NULL AND (n.id IS NULL OR o.incompatible_option_id IS DISTINCT FROM n.incompatible_option_id);
    ELSE
        INSERT INTO assistant_change (entity_type, entity_id, op, txid)
        SELECT 'incompatibility_rule', o.id, 'D', tx FROM old_rows o;
        INSERT INTO assistant_change (entity_type, entity_id, op, txid)
        SELECT 'option', o.option_id, 'U', tx FROM old_rows o WHERE o.option_id IS NOT NULL;
        INSERT INTO assistant_change (entity_type, entity_id, op, txid)
        SELECT 'option', o.incompatible_option_id, 'U', tx FROM old_rows o WHERE o.incompatible_option_id IS NOT NULL;
    END IF;
    RETURN NULL;
END
$$;

CREATE OR REPLACE FUNCTION assistant_change_price_rule() RETURNS trigger
LANGUAGE plpgsql SET enable_nestloop = off AS $$
DECLARE
    tx bigint := pg_current_xact_id()::text::bigint;
BEGIN
    IF TG_OP = 'INSERT' THEN
        INSERT INTO assistant_change (entity_type, entity_id, op, txid)
        SELECT 'price_rule', n.id, 'I', tx FROM new_rows n;
    ELSIF TG_OP = 'UPDATE' THEN
        INSERT INTO assistant_change (entity_type, entity_id, op, txid)
        SELECT 'price_rule', n.id, 'U', tx
        FROM new_rows n LEFT JOIN old_rows o ON o.id = n.id
        WHERE o.id IS NULL OR o IS DISTINCT FROM n;
        INSERT INTO assistant_change (entity_type, entity_id, op, txid)
        SELECT 'price_rule', o.id, 'D', tx
        FROM old_rows o
        WHERE NOT EXISTS (SELECT 1 FROM new_rows n WHERE n.id = o.id);
        INSERT INTO assistant_change (entity_type, entity_id, op, txid)
        SELECT 'option', o.option_id, 'U', tx
        FROM old_rows o LEFT JOIN new_rows n ON n.id = o.id
        WHERE o.option_id IS NOT NULL AND (n.id IS NULL OR o.option_id IS DISTINCT FROM n.option_id);
        INSERT INTO assistant_change (entity_type, entity_id, op, txid)
        SELECT 'option', o.depends_on_option_id, 'U', tx
        FROM old_rows o LEFT JOIN new_rows n ON n.id = o.id
        WHERE o.depends_on_option_id IS NOT NULL AND (n.id IS NULL OR o.depends_on_option_id IS DISTINCT FROM n.depends_on_option_id);
    ELSE
        INSERT INTO assistant_change (entity_type, entity_id, op, txid)
        SELECT 'price_rule', o.id, 'D', tx FROM old_rows o;
        INSERT INTO assistant_change (entity_type, entity_id, op, txid)
        SELECT 'option', o.option_id, 'U', tx FROM old_rows o WHERE o.option_id IS NOT NULL;
        INSERT INTO assistant_change (entity_type, entity_id, op, txid)
        SELECT 'option', o.depends_on_option_id, 'U', tx FROM old_rows o WHERE o.depends_on_option_id IS NOT NULL;
    END IF;
    RETURN NULL;
END
$$;

-- preconfigured_product_option: a product's option list is part of the product's document.
CREATE OR REPLACE FUNCTION assistant_change_product_option() RETURNS trigger
LANGUAGE plpgsql SET enable_nestloop = off AS $$
DECLARE
    tx bigint := pg_current_xact_id()::text::bigint;
BEGIN
    IF TG_OP IN ('INSERT', 'UPDATE') THEN
        INSERT INTO assistant_change (entity_type, entity_id, op, txid)
        SELECT DISTINCT 'product', n.product_id, 'U', tx FROM new_rows n;
    END IF;
    IF TG_OP IN ('UPDATE', 'DELETE') THEN
        INSERT INTO assistant_change (entity_type, entity_id, op, txid)
        SELECT DISTINCT 'product', o.product_id, 'U', tx FROM old_rows o;
    END IF;
    RETURN NULL;
END
$$;

DROP TRIGGER IF EXISTS assistant_change_category_insert ON configurator_category;
DROP TRIGGER IF EXISTS assistant_change_category_update ON configurator_category;
DROP TRIGGER IF EXISTS assistant_change_category_delete ON configurator_category;
DROP TRIGGER IF EXISTS assistant_change_option_insert ON part_option;
DROP TRIGGER IF EXISTS assistant_change_option_update ON part_option;
DROP TRIGGER IF EXISTS assistant_change_option_delete ON part_option;
DROP TRIGGER IF EXISTS assistant_change_product_insert ON preconfigured_product;
DROP TRIGGER IF EXISTS assistant_change_product_update ON preconfigured_product;
DROP TRIGGER IF EXISTS assistant_change_product_delete ON preconfigured_product;
DROP TRIGGER IF EXISTS assistant_change_incompatibility_rule_insert ON incompatibility_rule;
DROP TRIGGER IF EXISTS assistant_change_incompatibility_rule_update ON incompatibility_rule;
DROP TRIGGER IF EXISTS assistant_change_incompatibility_rule_delete ON incompatibility_rule;
DROP TRIGGER IF EXISTS assistant_change_price_rule_insert ON price_adjustment_rule;
DROP TRIGGER IF EXISTS assistant_change_price_rule_update ON price_adjustment_rule;
DROP TRIGGER IF EXISTS assistant_change_price_rule_delete ON price_adjustment_rule;
DROP TRIGGER IF EXISTS assistant_change_product_option_insert ON preconfigured_product_option;
DROP TRIGGER IF EXISTS assistant_change_product_option_update ON preconfigured_product_option;
DROP TRIGGER IF EXISTS assistant_change_product_option_delete ON preconfigured_product_option;

CREATE TRIGGER assistant_change_category_insert AFTER INSERT ON configurator_category
    REFERENCING NEW TABLE AS new_rows FOR EACH STATEMENT EXECUTE FUNCTION assistant_change_category();
CREATE TRIGGER assistant_change_category_update AFTER UPDATE ON configurator_category
    REFERENCING OLD TABLE AS old_rows NEW TABLE AS new_rows FOR EACH STATEMENT EXECUTE FUNCTION assistant_change_category();
CREATE TRIGGER assistant_change_category_delete AFTER DELETE ON configurator_category
    REFERENCING OLD TABLE AS old_rows FOR EACH STATEMENT EXECUTE FUNCTION assistant_change_category();

CREATE TRIGGER assistant_change_option_insert AFTER INSERT ON part_option
    REFERENCING NEW TABLE AS new_rows FOR EACH STATEMENT EXECUTE FUNCTION assistant_change_option();
CREATE TRIGGER assistant_change_option_update AFTER UPDATE ON part_option
    REFERENCING OLD TABLE AS old_rows NEW TABLE AS new_rows FOR EACH STATEMENT EXECUTE FUNCTION assistant_change_option();
CREATE TRIGGER assistant_change_option_delete AFTER DELETE ON part_option
    REFERENCING OLD TABLE AS old_rows FOR EACH STATEMENT EXECUTE FUNCTION assistant_change_option();

CREATE TRIGGER assistant_change_product_insert AFTER INSERT ON preconfigured_product
    REFERENCING NEW TABLE AS new_rows FOR EACH STATEMENT EXECUTE FUNCTION assistant_change_product();
CREATE TRIGGER assistant_change_product_update AFTER UPDATE ON preconfigured_product
    REFERENCING OLD TABLE AS old_rows NEW TABLE AS new_rows FOR EACH STATEMENT EXECUTE FUNCTION assistant_change_product();
CREATE TRIGGER assistant_change_product_delete AFTER DELETE ON preconfigured_product
    REFERENCING OLD TABLE AS old_rows FOR EACH STATEMENT EXECUTE FUNCTION assistant_change_product();

CREATE TRIGGER assistant_change_incompatibility_rule_insert AFTER INSERT ON incompatibility_rule
    REFERENCING NEW TABLE AS new_rows FOR EACH STATEMENT EXECUTE FUNCTION assistant_change_incompatibility_rule();
CREATE TRIGGER assistant_change_incompatibility_rule_update AFTER UPDATE ON incompatibility_rule
    REFERENCING OLD TABLE AS old_rows NEW TABLE AS new_rows FOR EACH STATEMENT EXECUTE FUNCTION assistant_change_incompatibility_rule();
CREATE TRIGGER assistant_change_incompatibility_rule_delete AFTER DELETE ON incompatibility_rule
    REFERENCING OLD TABLE AS old_rows FOR EACH STATEMENT EXECUTE FUNCTION assistant_change_incompatibility_rule();

CREATE TRIGGER assistant_change_price_rule_insert AFTER INSERT ON price_adjustment_rule
    REFERENCING NEW TABLE AS new_rows FOR EACH STATEMENT EXECUTE FUNCTION assistant_change_price_rule();
CREATE TRIGGER assistant_change_price_rule_update AFTER UPDATE ON price_adjustment_rule
    REFERENCING OLD TABLE AS old_rows NEW TABLE AS new_rows FOR EACH STATEMENT EXECUTE FUNCTION assistant_change_price_rule();
CREATE TRIGGER assistant_change_price_rule_delete AFTER DELETE ON price_adjustment_rule
    REFERENCING OLD TABLE AS old_rows FOR EACH STATEMENT EXECUTE FUNCTION assistant_change_price_rule();

CREATE TRIGGER assistant_change_product_option_insert AFTER INSERT ON preconfigured_product_option
    REFERENCING NEW TABLE AS new_rows FOR EACH STATEMENT EXECUTE FUNCTION assistant_change_product_option();
CREATE TRIGGER assistant_change_product_option_update AFTER UPDATE ON preconfigured_product_option
    REFERENCING OLD TABLE AS old_rows NEW TABLE AS new_rows FOR EACH STATEMENT EXECUTE FUNCTION assistant_change_product_option();
CREATE TRIGGER assistant_change_product_option_delete AFTER DELETE ON preconfigured_product_option
    REFERENCING OLD TABLE AS old_rows FOR EACH STATEMENT EXECUTE FUNCTION assistant_change_product_option();
