// The two OpenAI-compatible calls the service makes (chat completions, embeddings) as plain fetch POSTs: the same
// code on Node and Workers, and no SDK in the Worker bundle. Retries follow the usual rule: timeouts, network
// errors, 408, 409, 429 and 5xx answers are retried after a short backoff; anything else fails at once.
export interface OpenAiHttpOptions {
  apiKey: string;
  /** e.g. https://api.openai.com/v1 (the default) or a compatible server's /v1. */
  baseURL?: string | undefined;
  timeoutMs: number;
  maxRetries: number;
}

const DEFAULT_BASE_URL = 'https://api.openai.com/v1';
const retryable = (status: number) => status === 408 || status === 409 || status === 429 || status >= 500;

export async function postOpenAi<T>(opts: OpenAiHttpOptions, path: string, body: unknown): Promise<T> {
  const url = `${(opts.baseURL ?? DEFAULT_BASE_URL).replace(/\/+$/, '')}${path}`;
  for (let attempt = 0; ; attempt++) {
    let retry: boolean;
    let error: Error;
    try {
      const res = await fetch(url, {
        method: 'POST',
        headers: { authorization: `Bearer ${opts.apiKey}`, 'content-type': 'application/json', accept: 'application/json' },
        body: JSON.stringify(body),
        signal: AbortSignal.timeout(opts.timeoutMs),
      });
      if (res.ok) return (await res.json()) as T;
      const text = await res.text().catch(() => '');
      retry = retryable(res.status);
      error = new Error(`${path} answered ${res.status}: ${text.slice(0, 200)}`);
    } catch (err) {
      retry = true;
      error = (err as Error).name === 'TimeoutError' ? new Error(`${path} timed out after ${opts.timeoutMs} ms`) : (err as Error);
    }
    if (!retry || attempt >= opts.maxRetries) throw error;
    await new Promise((r) => setTimeout(r, Math.min(500 * 2 ** attempt, 4_000)));
  }
}
