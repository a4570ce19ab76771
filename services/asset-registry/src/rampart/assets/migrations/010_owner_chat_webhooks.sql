-- Where an owner is reached in chat: a Slack and a Microsoft Teams incoming webhook.
ALTER TABLE {schema}.owners ADD COLUMN slack_webhook_url text;
ALTER TABLE {schema}.owners ADD COLUMN teams_webhook_url text;
