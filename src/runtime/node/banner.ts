// What `npm start` prints once it listens: where the API and its pages are, the key, and a first request to try.
export interface BannerFacts {
  url: string;
  database: string;
  /** Where background jobs wait (and what a crash drops). */
  jobs: string;
  /** How the key is named (never copied from the environment) and how a shell reads it. */
  apiKey: { shown: string; shell: string };
}

/** A first turn written with `return_context`: on a new database it creates the session and answers its context. */
const TRY_BODY = JSON.stringify({
  turns: [{ role: 'user', content: 'I am planning a trip to Lisbon in May and want an apartment near Alfama.' }],
  return_context: { query: 'Where to stay?', budget_tokens: 500 },
});

/** The banner, one line per entry; the `try:` line comes last. */
export function bannerLines({ url, database, jobs, apiKey }: BannerFacts): string[] {
  return [
    `context engine listening on ${url}`,
    `  database: ${database}`,
    `  jobs:     ${jobs}`,
    `  API key:  ${apiKey.shown}`,
    `  API:      ${url}/v1  (OpenAPI: ${url}/openapi.json)`,
    `  docs:     ${url}/docs`,
    `  inspect:  ${url}/inspect`,
    `  MCP:      ${url}/mcp  (Streamable HTTP, the same bearer key)`,
    `  try:      curl -s ${url}/v1/sessions/demo/turns -H "Authorization: Bearer ${apiKey.shell}" -H 'content-type: application/json' -d '${TRY_BODY}'`,
  ];
}
