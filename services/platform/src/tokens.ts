// Injection tokens for values that are not classes.
export const APP_CONFIG = Symbol('APP_CONFIG');
export const LOGGER = Symbol('LOGGER');
export const DATABASE = Symbol('DATABASE');
export const SECRET_BOX = Symbol('SECRET_BOX');
export const REDIS = Symbol('REDIS');
