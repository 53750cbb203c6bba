// Which seeds a randomised test runs: CHAOS_SEED=n replays one seed; CHAOS_SEEDS=n and CHAOS_STEPS=n
// scale a run up or down (the defaults keep each file well under the time budget on a loaded box).
export interface SeedPlan {
  seeds: number[];
  steps: number;
  replaying: boolean;
}

function envInt(name: string): number | undefined {
  const raw = process.env[name];
  if (raw === undefined || raw === '') return undefined;
  const value = Number(raw);
  if (!Number.isSafeInteger(value) || value < 0) throw new Error(`${name} must be a non-negative integer, got "${raw}"`);
  return value;
}

export function seedPlan(firstSeed: number, defaultSeeds: number, defaultSteps: number): SeedPlan {
  const steps = envInt('CHAOS_STEPS') ?? defaultSteps;
  const one = envInt('CHAOS_SEED');
  if (one !== undefined) return { seeds: [one], steps, replaying: true };
  const count = envInt('CHAOS_SEEDS') ?? defaultSeeds;
  return { seeds: Array.from({ length: count }, (_, i) => firstSeed + i), steps, replaying: false };
}
