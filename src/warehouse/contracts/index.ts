export * from './tables';
export * from './table-contract';
export * from './sql-catalog';
export { telemetry, type TelemetryEvent } from './telemetry.contract';
export { websiteEvents, type WebsiteEvent } from './website-events.contract';
