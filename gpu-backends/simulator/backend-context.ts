// The state one simulated backend shares between its HTTP routes and its in-flight requests.
import type { Engine } from './engine.ts';
import type { EngineDriver } from './engine-driver.ts';
import type { Faults, FaultsInput } from './faults.ts';
import type { SimMetrics } from './metrics.ts';
import type { OutputModel } from './output-text.ts';
import type { EngineConfig } from './profiles.ts';

export interface BackendContext {
  model: string;
  engine: Engine;
  driver: EngineDriver;
  config: EngineConfig;
  output: OutputModel;
  hashSeed: number;
  promptTokensDetails: boolean;
  faults: Faults;
  faultSeed: number;
  requestCount: number;
  metrics: SimMetrics;
  created: number;
  /** Replaces the faults (attached once the listener exists; the admin route calls it). */
  setFaults?: (input: FaultsInput) => Faults;
}
