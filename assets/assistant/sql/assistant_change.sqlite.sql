-- Change capture for assistant_changes_sensor (SQLite): row triggers on the five catalog tables, like
-- appdb/sql/product_change.sqlite.sql. Each logs the entity and what its OLD row pointed at when that
-- changed (an option's old category, a rule's old options): their documents stated it. The sensor's run expands
-- the rest (an option's products, rules and category now) from the current rows. An UPDATE that
-- changes no column is no change. Re-running this script replaces every trigger (idempotent).

DROP TRIGGER IF EXISTS assistant_change_category_insert;
DROP TRIGGER IF EXISTS assistant_change_category_update;
DROP TRIGGER IF EXISTS assistant_change_category_delete;
DROP TRIGGER IF EXISTS assistant_change_option_insert;
DROP TRIGGER IF EXISTS assistant_change_option_update;
DROP TRIGGER IF EXISTS assistant_change_option_delete;
DROP TRIGGER IF EXISTS assistant_change_product_insert;
DROP TRIGGER IF EXISTS assistant_change_product_update;
DROP TRIGGER IF EXISTS assistant_change_product_delete;
DROP TRIGGER IF EXISTS assistant_change_product_option_insert;
DROP TRIGGER IF EXISTS assistant_change_product_option_update;
DROP TRIGGER IF EXISTS assistant_change_product_option_delete;
DROP TRIGGER IF EXISTS assistant_change_incompatibility_insert;
DROP TRIGGER IF EXISTS assistant_change_incompatibility_update;
DROP TRIGGER IF EXISTS assistant_change_incompatibility_delete;
DROP TRIGGER IF EXISTS assistant_change_price_rule_insert;
DROP TRIGGER IF EXISTS assistant_change_price_rule_update;
DROP TRIGGER IF EXISTS assistant_change_price_rule_delete;

-- configurator_category
CREATE TRIGGER assistant_change_category_insert AFTER INSERT ON configurator_category
BEGIN
    INSERT INTO assistant_change (entity_type, entity_id, op) VALUES ('category', NEW.id, 'I');
END;
CREATE TRIGGER assistant_change_category_update AFTER UPDATE ON configurator_category
WHEN OLD.id IS NOT NEW.id OR OLD.name IS NOT NEW.name OR OLD.description IS NOT NEW.description
  OR OLD.updated_at IS NOT NEW.updated_at
BEGIN
    INSERT INTO assistant_change (entity_type, entity_id, op) VALUES ('category', NEW.id, 'U');
    INSERT INTO assistant_change (entity_type, entity_id, op) SELECT 'category', OLD.id, 'D' WHERE OLD.id IS NOT NEW.id;
END;
CREATE TRIGGER assistant_change_category_delete AFTER DELETE ON configurator_category
BEGIN
    INSERT INTO assistant_change (entity_type, entity_id, op) VALUES ('category', OLD.id, 'D');
END;

-- part_option
CREATE TRIGGER assistant_change_option_insert AFTER INSERT ON part_option
BEGIN
    INSERT INTO assistant_change (entity_type, entity_id, op) VALUES ('option', NEW.id, 'I');
END;
CREATE TRIGGER assistant_change_option_update AFTER UPDATE ON part_option
WHEN OLD.id IS NOT NEW.id OR OLD.category_id IS NOT NEW.category_id OR OLD.name IS NOT NEW.name
  OR OLD.description IS NOT NEW.description OR OLD.price IS NOT NEW.price OR OLD.in_stock IS NOT NEW.in_stock
  OR OLD.updated_at IS NOT NEW.updated_at
BEGIN
    INSERT INTO assistant_change (entity_type, entity_id, op) VALUES ('option', NEW.id, 'U');
    INSERT INTO assistant_change (entity_type, entity_id, op) SELECT 'option', OLD.id, 'D' WHERE OLD.id IS NOT NEW.id;
    INSERT INTO assistant_change (entity_type, entity_id, op)
    SELECT 'category', OLD.category_id, 'U' WHERE OLD.category_id IS NOT NULL AND OLD.category_id IS NOT NEW.category_id;
END;
CREATE TRIGGER assistant_change_option_delete AFTER DELETE ON part_option
BEGIN
    INSERT INTO assistant_change (entity_type, entity_id, op) VALUES ('option', OLD.id, 'D');
    INSERT INTO assistant_change (entity_type, entity_id, op) SELECT 'category', OLD.category_id, 'U' WHERE OLD.category_id IS NOT NULL;
END;

-- preconfigured_product
CREATE TRIGGER assistant_change_product_insert AFTER INSERT ON preconfigured_product
BEGIN
    INSERT INTO assistant_change (entity_type, entity_id, op) VALUES ('product', NEW.id, 'I');
END;
CREATE TRIGGER assistant_change_product_update AFTER UPDATE ON preconfigured_product
WHEN OLD.id IS NOT NEW.id OR OLD.name IS NOT NEW.name OR OLD.description IS NOT NEW.description
  OR OLD.base_price IS NOT NEW.base_price OR OLD.is_active IS NOT NEW.is_active OR OLD.updated_at IS NOT NEW.updated_at
BEGIN
    INSERT INTO assistant_change (entity_type, entity_id, op) VALUES ('product', NEW.id, 'U');
    INSERT INTO assistant_change (entity_type, entity_id, op) SELECT 'product', OLD.id, 'D' WHERE OLD.id IS NOT NEW.id;
END;
CREATE TRIGGER assistant_change_product_delete AFTER DELETE ON preconfigured_product
BEGIN
    INSERT INTO assistant_change (entity_type, entity_id, op) VALUES ('product', OLD.id, 'D');
END;

-- preconfigured_product_option: a product's option list is part of the product's document
CREATE TRIGGER assistant_change_product_option_insert AFTER INSERT ON preconfigured_product_option
BEGIN
    INSERT INTO assistant_change (entity_type, entity_id, op) VALUES ('product', NEW.product_id, 'U');
END;
CREATE TRIGGER assistant_change_product_option_update AFTER UPDATE ON preconfigured_product_option
WHEN OLD.product_id IS NOT NEW.product_id OR OLD.option_id IS NOT NEW.option_id
BEGIN
    INSERT INTO assistant_change (entity_type, entity_id, op) VALUES ('product', NEW.product_id, 'U');
    INSERT INTO assistant_change (entity_type, entity_id, op) SELECT 'product', OLD.product_id, 'U' WHERE OLD.product_id IS NOT NEW.product_id;
END;
CREATE TRIGGER assistant_change_product_option_delete AFTER DELETE ON preconfigured_product_option
BEGIN
    INSERT INTO assistant_change (entity_type, entity_id, op) VALUES ('product', OLD.product_id, 'U');
END;

-- incompatibility_rule: its old options' documents stated it
CREATE TRIGGER assistant_change_incompatibility_insert AFTER INSERT ON incompatibility_rule
BEGIN
    INSERT INTO assistant_change (entity_type, entity_id, op) VALUES ('incompatibility_rule', NEW.id, 'I');
END;
CREATE TRIGGER assistant_change_incompatibility_update AFTER UPDATE ON incompatibility_rule
WHEN OLD.id IS NOT NEW.id OR OLD.option_id IS NOT NEW.option_id OR OLD.incompatible_option_id IS NOT NEW.incompatible_option_id
  OR OLD.reason IS NOT NEW.reason OR OLD.updated_at IS NOT NEW.updated_at
BEGIN
    INSERT INTO assistant_change (entity_type, entity_id, op) VALUES ('incompatibility_rule', NEW.id, 'U');
    INSERT INTO assistant_change (entity_type, entity_id, op) SELECT 'incompatibility_rule', OLD.id, 'D' WHERE OLD.id IS NOT NEW.id;
    INSERT INTO assistant_change (entity_type, entity_id, op) SELECT 'option', OLD.option_id, 'U' WHERE OLD.option_id IS NOT NEW.option_id;
    INSERT INTO assistant_change (entity_type, entity_id, op)
    SELECT 'option', OLD.incompatible_option_id, 'U' WHERE OLD.incompatible_option_id IS NOT NEW.incompatible_option_id;
END;
CREATE TRIGGER assistant_change_incompatibility_delete AFTER DELETE ON incompatibility_rule
BEGIN
    INSERT INTO assistant_change (entity_type, entity_id, op)
    VALUES ('incompatibility_rule', OLD.id, 'D'), ('option', OLD.option_id, 'U'), ('option', OLD.incompatible_option_id, 'U');
END;

-- price_adjustment_rule: its old options' documents (and their products' totals) stated it
CREATE TRIGGER assistant_change_price_rule_insert AFTER INSERT ON price_adjustment_rule
BEGIN
    INSERT INTO assistant_change (entity_type, entity_id, op) VALUES ('price_rule', NEW.id, 'I');
END;
CREATE TRIGGER assistant_change_price_rule_update AFTER UPDATE ON price_adjustment_rule
WHEN OLD.id IS NOT NEW.id OR OLD.option_id IS NOT NEW.option_id OR OLD.depends_on_option_id IS NOT NEW.depends_on_option_id
  OR OLD.price_delta IS NOT NEW.price_delta OR OLD.description IS NOT NEW.description OR OLD.updated_at IS NOT NEW.updated_at
BEGIN
    INSERT INTO assistant_change (entity_type, entity_id, op) VALUES ('price_rule', NEW.id, 'U');
    INSERT INTO assistant_change (entity_type, entity_id, op) SELECT 'price_rule', OLD.id, 'D' WHERE OLD.id IS NOT NEW.id;
    INSERT INTO assistant_change (entity_type, entity_id, op) SELECT 'option', OLD.option_id, 'U' WHERE OLD.option_id IS NOT NEW.option_id;
    INSERT INTO assistant_change (entity_type, entity_id, op)
    SELECT 'option', OLD.depends_on_option_id, 'U' WHERE OLD.depends_on_option_id IS NOT NEW.depends_on_option_id;
END;
CREATE TRIGGER assistant_change_price_rule_delete AFTER DELETE ON price_adjustment_rule
BEGIN
    INSERT INTO assistant_change (entity_type, entity_id, op)
    VALUES ('price_rule', OLD.id, 'D'), ('option', OLD.option_id, 'U'), ('option', OLD.depends_on_option_id, 'U');
END;
