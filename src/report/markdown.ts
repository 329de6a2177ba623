// The Markdown summary of `mc check`, fit for a CI job summary ($GITHUB_STEP_SUMMARY) or a log:
// one row per budget with the value, the limit, the margin and the verdict, then the smallest
// change for each failing check. Deterministic: no timestamps, no absolute paths.
import type { CheckResult } from '../check/run.js';

const cell = (s: string): string => s.replace(/\|/g, '\\|').replace(/\n/g, ' ');

export function checkMarkdown(results: readonly CheckResult[]): string {
  const budgets = results.reduce((n, r) => n + Math.max(1, r.verdicts.length), 0);
  const failed = results.filter((r) => !r.pass);
  const out = [
    `### mc check: ${failed.length === 0 ? 'all budgets hold' : `${failed.length} of ${results.length} checks fail`}`,
    '',
    `${results.length} check${results.length === 1 ? '' : 's'}, ${budgets} budget${budgets === 1 ? '' : 's'}.`,
    '',
    '| check | configuration | budget | value | limit | margin | verdict |',
    '| --- | --- | --- | ---: | ---: | ---: | --- |',
  ];
  for (const r of results) {
    if (r.verdicts.length === 0) {
      out.push(`| ${cell(r.config.name)} | ${cell(r.what)} | plan | - | - | - | ❌ ${cell((r.error ?? 'no plan').split('\n')[0])} |`);
      continue;
    }
    for (const v of r.verdicts) {
      const [value, limit, margin] = v.cells;
      out.push(`| ${cell(r.config.name)} | ${cell(r.what)} | ${v.budget} | ${cell(value)} | ${cell(limit)} | ${cell(margin)} | ${v.pass ? '✅ pass' : '❌ FAIL'} |`);
    }
  }
  const withChange = failed.filter((r) => r.suggestion !== undefined);
  if (withChange.length > 0) {
    out.push('', 'Smallest change that passes:', '');
    for (const r of withChange) out.push(`- **${cell(r.config.name)}**: ${r.suggestion ? `\`${r.suggestion.replace(/ \(.*$/, '')}\`${/ \(.*$/.exec(r.suggestion)?.[0] ?? ''}` : 'none of the changes tried (strategy, ZeRO stage, a parallel degree x2/x4/x8, a shorter sequence) passes'}`);
  }
  return out.join('\n') + '\n';
}
