export * from './EscalationPolicy.js';
export * from './TopologyMachine.js';
