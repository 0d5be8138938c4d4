/** @type {import('jest').Config} */
module.exports = {
  preset: 'ts-jest',
  testEnvironment: 'node',
  roots: ['<rootDir>/test'],
  testMatch: ['**/*.test.ts'],
  // Real Temporal servers and workers start inside tests: give them room, never a sleep.
  testTimeout: 180_000,
  transform: { '^.+\\.ts$': ['ts-jest', { isolatedModules: true }] },
};
