// The official Python `openai` package against a real Node router and real simulator processes. The client runs
// as a separate Python process (python_client.py); scripts/python-openai.sh puts it in .venv/ (CI runs it first).
import { spawn, spawnSync } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { KEY, MODEL, simCounts, startClientsRig, type ClientsRig } from './setup.ts';

const ROOT = fileURLToPath(new URL('../../../', import.meta.url));
const SCRIPT = fileURLToPath(new URL('./python_client.py', import.meta.url));

/**
 * What python_client.py prints: one JSON object with what each call returned (the fields read here). A call that
 * should have failed and did not prints "no error" in place of its object, which the assertions then show.
 */
interface PythonClientReport {
  chat: { text: string; usage: { prompt_tokens: number }; backend: string | null };
  chat_stream: { text: string; chunks: number; usage: { completion_tokens: number } | null };
  completions: { text: string };
  responses: { id: string; text: string; input_tokens: number };
  responses_stream: { types: string[]; text: string; final_text: string | null };
  embeddings: { count: number; dims: number; max_diff: number };
  models: { list: string[]; retrieve: unknown; retrieve_slash: string; missing: unknown };
  bad_request: { status: number; code: string; type: string; param: string | null; body: unknown };
  closed_after_chunks: number;
}

let rig: ClientsRig;
beforeAll(async () => {
  const venv = spawnSync('bash', ['scripts/python-openai.sh'], { cwd: ROOT, encoding: 'utf8', timeout: 120_000 });
  if (venv.status !== 0) throw new Error(`the Python openai client could not be installed in .venv (scripts/python-openai.sh):\n${venv.stderr || venv.stdout}`);
  rig = await startClientsRig();
}, 150_000);
afterAll(async () => {
  await rig?.stop();
});

function runPython(env: Record<string, string>): Promise<{ code: number | null; stdout: string; stderr: string }> {
  return new Promise((resolve, reject) => {
    const child = spawn(`${ROOT}.venv/bin/python`, [SCRIPT], { env: { ...process.env, ...env }, stdio: ['ignore', 'pipe', 'pipe'] });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (d) => (stdout += d));
    child.stderr.on('data', (d) => (stderr += d));
    const timer = setTimeout(() => child.kill('SIGKILL'), 60_000);
    child.on('error', reject);
    child.on('exit', (code) => {
      clearTimeout(timer);
      resolve({ code, stdout, stderr });
    });
  });
}

describe('Python openai client through kvroute', () => {
  it('chat, completions, Responses, embeddings, models, errors and stream.close() all work', async () => {
    const before = await simCounts(rig.pool);
    const run = await runPython({ KVROUTE_URL: rig.router.url, KVROUTE_KEY: KEY, KVROUTE_MODEL: MODEL });
    expect(run.code, run.stderr).toBe(0);
    const out = JSON.parse(run.stdout) as PythonClientReport;

    expect(out.chat.text.length).toBeGreaterThan(0);
    expect(out.chat.usage.prompt_tokens).toBeGreaterThan(0);
    expect(out.chat.backend).toMatch(/^b[01]$/);
    expect(out.chat_stream.chunks).toBeGreaterThan(2);
    expect(out.chat_stream.text.length).toBeGreaterThan(0);
    expect(out.chat_stream.usage?.completion_tokens).toBeGreaterThan(0);
    expect(out.completions.text.length).toBeGreaterThan(0);

    expect(out.responses.id).toMatch(/^resp_/);
    expect(out.responses.text.length).toBeGreaterThan(0);
    expect(out.responses.input_tokens).toBeGreaterThan(0);
    expect(out.responses_stream.types[0]).toBe('response.created');
    expect(out.responses_stream.types.at(-1)).toBe('response.completed');
    expect(out.responses_stream.types).not.toContain('error');
    expect(out.responses_stream.final_text).toBe(out.responses_stream.text);

    expect(out.embeddings).toMatchObject({ count: 2, dims: 384 });
    expect(out.embeddings.max_diff).toBeLessThan(1e-6);

    expect(out.models.list).toEqual(['llama-3.1-8b', 'org/alias-model']);
    expect(out.models.retrieve).toMatchObject({ id: MODEL, object: 'model', owned_by: 'acme' });
    expect(out.models.retrieve_slash).toBe('org/alias-model');
    expect(out.models.missing).toEqual({ status: 404, code: 'model_not_found' });

    expect(out.bad_request).toMatchObject({ status: 400, code: 'upstream_400', type: 'invalid_request_error', param: 'n' });
    expect(out.bad_request.body).toEqual({ message: 'The simulator supports n=1 only.', type: 'invalid_request_error', param: 'n', code: 'upstream_400' });

    // stream.close() after 3 chunks: the router cancelled the request on the backend.
    expect(out.closed_after_chunks).toBe(3);
    for (let i = 0; ; i++) {
      const now = await simCounts(rig.pool);
      if (now.inFlight === 0 && now.aborted === before.aborted + 1) break;
      if (i > 200) throw new Error(`the closed stream was not cancelled upstream: ${JSON.stringify(now)}`);
      await new Promise((r) => setTimeout(r, 25));
    }

    // Analytics saw the Responses requests complete, with their usage.
    const events = await rig.events(['py-resp-whole', 'py-resp-stream']);
    for (const ev of events) expect(ev).toMatchObject({ status: 200, error_class: '' });
    expect(events.find((e) => e.request_id === 'py-resp-whole')!.prompt_tokens).toBe(out.responses.input_tokens);
    expect(Number(events.find((e) => e.request_id === 'py-resp-stream')!.completion_tokens)).toBeGreaterThan(0);
  });
});
