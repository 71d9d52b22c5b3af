"""The order's adjustments add up, checked by PostgreSQL at COMMIT (a constraint trigger: a CHECK cannot read
other rows): the adjustment rows sum to charges − discount, and, for an order with lines, so do the lines'
shares. Deferred, so the order, its lines and its adjustments are written in any order in one transaction."""

from django.db import migrations

FUNCTION = """
CREATE OR REPLACE FUNCTION orders_adjustments_add_up() RETURNS trigger AS $$
DECLARE
  checked_order bigint;
  order_row record;
  adjusted numeric;
  shared numeric;
  line_count integer;
BEGIN
  IF TG_TABLE_NAME = 'orders_order' THEN
    checked_order := NEW.id;
  ELSIF TG_OP = 'DELETE' THEN
    checked_order := OLD.order_id;
  ELSE
    checked_order := NEW.order_id;
  END IF;
  SELECT discount, charges INTO order_row FROM orders_order WHERE id = checked_order;
  IF NOT FOUND THEN
    RETURN NULL;  -- the order itself was deleted
  END IF;
  SELECT COALESCE(SUM(amount), 0) INTO adjusted FROM orders_orderadjustment WHERE order_id = checked_order;
  SELECT COALESCE(SUM(adjustment_amount), 0), COUNT(*) INTO shared, line_count
    FROM orders_orderline WHERE order_id = checked_order;
  IF adjusted <> order_row.charges - order_row.discount OR (line_count > 0 AND shared <> adjusted) THEN
    RAISE EXCEPTION 'order %: adjustments % and line shares % do not add up to charges - discount %',
      checked_order, adjusted, shared, order_row.charges - order_row.discount
      USING ERRCODE = 'check_violation', CONSTRAINT = 'order_adjustments_add_up';
  END IF;
  RETURN NULL;
END
$$ LANGUAGE plpgsql;
"""

TRIGGERS = """
CREATE CONSTRAINT TRIGGER order_adjustments_add_up_on_insert AFTER INSERT ON orders_order
  DEFERRABLE INITIALLY DEFERRED FOR EACH ROW WHEN (NEW.discount <> 0 OR NEW.charges <> 0)
  EXECUTE FUNCTION orders_adjustments_add_up();
CREATE CONSTRAINT TRIGGER order_adjustments_add_up_on_update AFTER UPDATE OF discount, charges ON orders_order
  DEFERRABLE INITIALLY DEFERRED FOR EACH ROW EXECUTE FUNCTION orders_adjustments_add_up();
CREATE CONSTRAINT TRIGGER order_adjustments_add_up_adjustment AFTER INSERT OR UPDATE OR DELETE
  ON orders_orderadjustment DEFERRABLE INITIALLY DEFERRED FOR EACH ROW EXECUTE FUNCTION orders_adjustments_add_up();
CREATE CONSTRAINT TRIGGER order_adjustments_add_up_line_insert AFTER INSERT ON orders_orderline
  DEFERRABLE INITIALLY DEFERRED FOR EACH ROW WHEN (NEW.adjustment_amount <> 0)
  EXECUTE FUNCTION orders_adjustments_add_up();
CREATE CONSTRAINT TRIGGER order_adjustments_add_up_line_change AFTER UPDATE OF adjustment_amount OR DELETE
  ON orders_orderline DEFERRABLE INITIALLY DEFERRED FOR EACH ROW EXECUTE FUNCTION orders_adjustments_add_up();
"""

DROP = """
DROP TRIGGER IF EXISTS order_adjustments_add_up_on_insert ON orders_order;
DROP TRIGGER IF EXISTS order_adjustments_add_up_on_update ON orders_order;
DROP TRIGGER IF EXISTS order_adjustments_add_up_adjustment ON orders_orderadjustment;
DROP TRIGGER IF EXISTS order_adjustments_add_up_line_insert ON orders_orderline;
DROP TRIGGER IF EXISTS order_adjustments_add_up_line_change ON orders_orderline;
DROP FUNCTION IF EXISTS orders_adjustments_add_up();
"""


class Migration(migrations.Migration):
    dependencies = [("orders", "0009_fulfilment_queue")]

    # DROP first: a database that ran this migration under its first number (0009) gets it once, not twice.
    operations = [migrations.RunSQL(DROP + FUNCTION + TRIGGERS, reverse_sql=DROP)]
