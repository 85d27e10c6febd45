/**
 * Config sections read once at start (listeners, the state store): a reload or PUT /config that changes them is
 * applied with their running values kept, and they take effect after a restart.
 */
export const STATIC_KEYS = ['listen', 'admin', 'functionsApi', 'store'] as const;
