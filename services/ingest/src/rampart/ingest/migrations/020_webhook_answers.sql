-- A Standard Webhooks retry of an accepted delivery is answered as the delivery was.
ALTER TABLE {schema}.webhook_ids ADD COLUMN answer text;
