// The eval command run in-process, its output captured and its JSON report read back.
import { readFile } from 'node:fs/promises';
import { cli } from '../../scripts/eval/main.js';

export async function runEvalCli(
  args: string[],
  jsonFile: string,
): Promise<{ stdout: string; stderr: string; json: any }> {
  let stdout = '';
  let stderr = '';
  await cli([...args, '--json', jsonFile], {
    stdout: (t) => void (stdout += t),
    stderr: (t) => void (stderr += t),
    tty: false,
  });
  return { stdout, stderr, json: JSON.parse(await readFile(jsonFile, 'utf8')) };
}
