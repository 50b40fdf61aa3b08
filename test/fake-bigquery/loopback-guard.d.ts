/** Blocked attempts so far, e.g. "connect 169.254.169.254" or "dns metadata.google.internal". */
export function violations(): string[];
export function clearViolations(): void;
