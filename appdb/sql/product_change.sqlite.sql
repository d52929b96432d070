-- Change capture for product vectors (SQLite): row triggers. SQLite has one writer at a time, so
-- rows are committed in seq order and no late commit can hide behind a higher seq. Re-running this
-- script replaces every trigger (idempotent). The UPDATE trigger lists every product column: a test
-- keeps the list in step with appdb/tables.py.

DROP TRIGGER IF EXISTS product_change_insert;
DROP TRIGGER IF EXISTS product_change_update;
DROP TRIGGER IF EXISTS product_change_delete;
DROP TRIGGER IF EXISTS product_change_category_update;

CREATE TRIGGER product_change_insert AFTER INSERT ON product
BEGIN
    INSERT INTO product_change (product_id, op) VALUES (NEW.id, 'I');
END;

CREATE TRIGGER product_change_update AFTER UPDATE ON product
WHEN OLD.id IS NOT NEW.id
  OR OLD.title IS NOT NEW.title
  OR OLD.description IS NOT NEW.description
  OR OLD.brand IS NOT NEW.brand
  OR OLD.category_id IS NOT NEW.category_id
  OR OLD.source IS NOT NEW.source
  OR OLD.source_price IS NOT NEW.source_price
  OR OLD.source_currency IS NOT NEW.source_currency
  OR OLD.price IS NOT NEW.price
  OR OLD.price_currency IS NOT NEW.price_currency
  OR OLD.image_key IS NOT NEW.image_key
  OR OLD.is_available IS NOT NEW.is_available
  OR OLD.merged_into_id IS NOT NEW.merged_into_id
  OR OLD.updated_at IS NOT NEW.updated_at
BEGIN
    INSERT INTO product_change (product_id, op) VALUES (NEW.id, 'U');
    INSERT INTO product_change (product_id, op) SELECT OLD.id, 'D' WHERE OLD.id IS NOT NEW.id;
END;

CREATE TRIGGER product_change_delete AFTER DELETE ON product
BEGIN
    INSERT INTO product_change (product_id, op) VALUES (OLD.id, 'D');
END;

-- A category's name is part of the text of its products and of its child categories' products
-- ("Parent / Child"); a new parent changes the path of its own products.
CREATE TRIGGER product_change_category_update AFTER UPDATE OF name, parent_id ON category
WHEN OLD.name IS NOT NEW.name OR OLD.parent_id IS NOT NEW.parent_id
BEGIN
    INSERT INTO product_change (product_id, op)
    SELECT p.id, 'U' FROM product p
    WHERE p.category_id = NEW.id
       OR (OLD.name IS NOT NEW.name AND p.category_id IN (SELECT c.id FROM category c WHERE c.parent_id = NEW.id));
END;
