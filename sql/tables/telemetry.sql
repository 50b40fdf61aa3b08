-- One row per app session. receivedAt is the server's receive time.
CREATE TABLE IF NOT EXISTS `{{dataset}}.telemetry` (
  installationId STRING NOT NULL,
  startTime TIMESTAMP NOT NULL,
  endTime TIMESTAMP NOT NULL,
  firstSession BOOL NOT NULL,
  version STRING NOT NULL,
  os STRING NOT NULL,
  country STRING,
  environmentsCount INT64 NOT NULL,
  app STRING,
  auth BOOL,
  paid BOOL,
  receivedAt TIMESTAMP NOT NULL
)
PARTITION BY DATE(receivedAt)
CLUSTER BY version, os
OPTIONS (description = 'App sessions, one row each');
