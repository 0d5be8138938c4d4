export { startSimulator } from './server';
export * from './types';
export { mulberry32 } from './faults';
export { generateFromSchema } from './generate';
