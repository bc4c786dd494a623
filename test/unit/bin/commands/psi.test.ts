import { afterEach, describe, expect, it, vi } from 'vitest';
import { main } from '../../../../bin/commands/psi.ts';

/** The fields of the command's JSON output that these tests read (the rest is checked with toMatchObject). */
interface PsiOutput {
  psi: number;
  crit: number | null;
  terms: number[];
}

async function run(argv: string[]) {
  const lines: string[] = [];
  const spy = vi.spyOn(console, 'log').mockImplementation((s: string) => void lines.push(s));
  try {
    const code = await main(argv);
    return { code, out: JSON.parse(lines.join('\n')) as PsiOutput };
  } finally {
    spy.mockRestore();
  }
}

afterEach(() => vi.restoreAllMocks());

describe('kvroute psi', () => {
  it('takes shares and reproduces golden G1', async () => {
    const { code, out } = await run(['--expected', '0.4,0.3,0.3', '--actual', '0.35,0.25,0.40']);
    expect(code).toBe(0);
    expect(out).toMatchObject({ input: 'shares', smoothing: 'none', status: 'none', bins: 3 });
    expect(Math.abs(out.psi - 0.04456085471610198)).toBeLessThan(1e-9);
    expect(out.terms).toHaveLength(3);
  });

  it('takes counts with a smoothing convention and applies the chi-square guard (G4, G3)', async () => {
    const g4 = await run(['--expected', '500,300,150,50', '--actual', '80,20,0,0', '--smoothing', 'half']);
    expect(Math.abs(g4.out.psi - 0.7753965917211588)).toBeLessThan(1e-9);
    expect(g4.out).toMatchObject({ input: 'counts', n: 100, m: 1000, status: 'major' });
    const floor = await run(['--expected=500,300,150,50', '--actual=80,20,0,0', '--smoothing=floor']);
    expect(Math.abs(floor.out.psi - 1.587908279720641)).toBeLessThan(1e-9);
    const g3 = await run(['--expected', '1200,2400,3100,2000,900,400', '--actual', '150,380,700,900,520,350']);
    expect(Math.abs(g3.out.psi - 0.3327241230082506)).toBeLessThan(1e-9);
    expect(g3.out.crit).toBeCloseTo(15.086 * (1 / 3000 + 1 / 10000), 4);
  });

  it('explains bad input', async () => {
    await expect(main(['--expected', '1,2', '--actual', '1,2,3'])).rejects.toThrow(/2 bins but --actual has 3/);
    await expect(main(['--expected', '1,x', '--actual', '1,2'])).rejects.toThrow(/value 2 \('x'\)/);
    await expect(main(['--expected', '5,5', '--actual', '10,0'])).rejects.toThrow(/--smoothing half/);
    await expect(main(['--expected', '0.5,0.5', '--actual', '0.4,0.6', '--smoothing', 'half'])).rejects.toThrow(/needs counts/);
    await expect(main(['--expected', '1', '--actual', '1', '--smoothing', 'zero'])).rejects.toThrow(/must be one of/);
  });
});
