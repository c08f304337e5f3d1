/**
 * The HTML around every report (report.html of a run or a comparison,
 * analysis.html): a short title with the command below it, a table that
 * scrolls sideways on a narrow window, and figures that wrap into a grid, each
 * caption as wide as its figure and every figure shrinking to fit the window.
 */
import { renderSvg, type Figure } from './plots.js';

export const escape = (s: string) => s.replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/>/g, '&gt;');

const STYLE = `
body { font-family: system-ui, sans-serif; margin: 1.5rem 2rem; color: #222; max-width: 1600px; }
h1 { font-size: 1.5rem; margin-bottom: 0.3rem; }
.command { font-family: ui-monospace, monospace; font-size: 0.85rem; color: #444; background: #f4f4f4; padding: 0.4rem 0.6rem; overflow-wrap: anywhere; }
.scroll { overflow-x: auto; }
table { border-collapse: collapse; margin: 1rem 0; }
th, td { border-bottom: 1px solid #ddd; padding: 0.3rem 0.8rem; text-align: right; white-space: nowrap; }
th:first-child, td:first-child { text-align: left; }
.warn { color: #b00; font-weight: 600; }
code { background: #f4f4f4; padding: 0.1rem 0.3rem; }
pre { background: #f8f8f8; padding: 0.5rem; overflow-x: auto; }
.figures { display: flex; flex-wrap: wrap; gap: 1.5rem 2.5rem; align-items: flex-start; margin-top: 1.5rem; }
figure { margin: 0; max-width: 100%; }
figcaption { font-weight: 600; margin-bottom: 0.5rem; }
figure svg { max-width: 100%; height: auto; }
`;

/** The width vega gave an SVG, so its caption wraps at the figure's edge. */
function svgWidth(svg: string): number | null {
  const m = /<svg[^>]*\swidth="([\d.]+)"/.exec(svg);
  return m ? Math.ceil(Number(m[1])) : null;
}

export interface Page {
  /** Short, for the tab and the heading. */
  title: string;
  /** The command that made the page, shown under the title. */
  command?: string;
  /** HTML: what the page describes, its table, any text results. */
  body: string;
  figures: Figure[];
}

export async function htmlPage(page: Page): Promise<string> {
  const svgs = await Promise.all(page.figures.map((f) => renderSvg(f.spec)));
  const figures = page.figures
    .map((f, i) => {
      const w = svgWidth(svgs[i]!);
      return `<figure${w ? ` style="width: ${w}px"` : ''}><figcaption>${escape(f.title)}</figcaption>\n${svgs[i]}\n</figure>`;
    })
    .join('\n');
  return `<!doctype html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>${escape(page.title)}</title>
<style>${STYLE}</style>
</head>
<body>
<h1>${escape(page.title)}</h1>
${page.command ? `<div class="command">${escape(page.command)}</div>\n` : ''}${page.body}
${figures ? `<div class="figures">\n${figures}\n</div>` : ''}
</body>
</html>
`;
}

/** A table from a header row and body rows of HTML cells (already escaped), in a box that scrolls on narrow windows. */
export function htmlTable(header: string[], rows: string[][]): string {
  const head = header.map((h) => `<th>${escape(h)}</th>`).join('');
  const body = rows.map((r) => `<tr>${r.join('')}</tr>`).join('\n');
  return `<div class="scroll"><table>\n<thead><tr>${head}</tr></thead>\n<tbody>\n${body}\n</tbody>\n</table></div>`;
}

/** A table cell, escaped; `warn` marks it (a diverged or failed run). */
export const cell = (text: string, warn = false) => `<td${warn ? ' class="warn"' : ''}>${escape(text)}</td>`;
