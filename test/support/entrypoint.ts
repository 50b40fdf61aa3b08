/**
 * The node flags of app.yaml's entrypoint (`node <flags> dist/main.js`): what the flood test and
 * the benchmarks run the API with, so that they measure it as App Engine runs it.
 */
export function entrypointNodeFlags(appYaml: string): string[] {
  const entrypoint = /^entrypoint:\s*(.+)$/m.exec(appYaml)?.[1].trim().split(/\s+/) ?? [];
  if (entrypoint[0] !== 'node' || entrypoint.at(-1) !== 'dist/main.js')
    throw new Error(`app.yaml: unexpected entrypoint ${entrypoint.join(' ')}`);
  return entrypoint.slice(1, -1);
}
