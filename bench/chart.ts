/** A dependency-free SVG line chart: overhead ratio against fan-out size, median with min–max bars. */
import type { Stat } from './stats';

export interface Series {
  name: string;
  color: string;
  points: { n: number; ratio: Stat }[];
}

/** `targets`: a limit per fan-out size, drawn as a short dashed mark at that size. */
export function overheadChart(
  series: Series[],
  opts: { title: string; targets: readonly { n: number; limit: number }[] },
): string {
  const W = 640;
  const H = 380;
  const m = { left: 64, right: 24, top: 48, bottom: 56 };
  const ns = [...new Set(series.flatMap((s) => s.points.map((p) => p.n)))].sort((a, b) => a - b);
  const all = series.flatMap((s) => s.points.flatMap((p) => [p.ratio.min, p.ratio.max]));
  const yMin = Math.min(0.95, ...all);
  const yMax = Math.max(...opts.targets.map((t) => t.limit * 1.02), ...all) * 1.03;
  // Fan-out sizes are decades apart: a log x axis spaces them evenly.
  const lx = (n: number) => Math.log10(n);
  const x0 = lx(ns[0]!) - 0.3;
  const x1 = lx(ns[ns.length - 1]!) + 0.3;
  const X = (n: number) => m.left + ((lx(n) - x0) / (x1 - x0)) * (W - m.left - m.right);
  const Y = (r: number) => m.top + (1 - (r - yMin) / (yMax - yMin)) * (H - m.top - m.bottom);
  const out: string[] = [];
  out.push(
    `<svg xmlns="http://www.w3.org/2000/svg" width="${W}" height="${H}" viewBox="0 0 ${W} ${H}" font-family="sans-serif" font-size="12">`,
  );
  out.push(`<rect width="${W}" height="${H}" fill="white"/>`);
  out.push(
    `<text x="${W / 2}" y="24" text-anchor="middle" font-size="15" font-weight="bold">${esc(opts.title)}</text>`,
  );
  // Y grid and labels.
  const step = niceStep((yMax - yMin) / 6);
  for (let v = Math.ceil(yMin / step) * step; v <= yMax + 1e-9; v += step) {
    out.push(
      `<line x1="${m.left}" x2="${W - m.right}" y1="${Y(v).toFixed(1)}" y2="${Y(v).toFixed(1)}" stroke="#e5e5e5"/>`,
    );
    out.push(`<text x="${m.left - 8}" y="${(Y(v) + 4).toFixed(1)}" text-anchor="end">${v.toFixed(2)}</text>`);
  }
  // Ideal (1.0) and each size's target.
  out.push(
    `<line x1="${m.left}" x2="${W - m.right}" y1="${Y(1).toFixed(1)}" y2="${Y(1).toFixed(1)}" stroke="#444" stroke-dasharray="2 3"/>`,
  );
  for (const t of opts.targets.filter((t) => ns.includes(t.n))) {
    const y = Y(t.limit).toFixed(1);
    out.push(
      `<line x1="${(X(t.n) - 36).toFixed(1)}" x2="${(X(t.n) + 36).toFixed(1)}" y1="${y}" y2="${y}" stroke="#c0392b" stroke-width="2" stroke-dasharray="6 4"/>`,
    );
    out.push(
      `<text x="${(X(t.n) - 40).toFixed(1)}" y="${(Y(t.limit) + 4).toFixed(1)}" text-anchor="end" fill="#c0392b">target ${t.limit}</text>`,
    );
  }
  // X labels.
  for (const n of ns) {
    out.push(`<text x="${X(n).toFixed(1)}" y="${H - m.bottom + 18}" text-anchor="middle">${n}</text>`);
  }
  out.push(`<text x="${W / 2}" y="${H - 14}" text-anchor="middle">subtasks per job (log scale)</text>`);
  out.push(
    `<text x="16" y="${H / 2}" text-anchor="middle" transform="rotate(-90 16 ${H / 2})">wall time ÷ ideal makespan</text>`,
  );
  out.push(`<line x1="${m.left}" x2="${m.left}" y1="${m.top}" y2="${H - m.bottom}" stroke="#444"/>`);
  out.push(`<line x1="${m.left}" x2="${W - m.right}" y1="${H - m.bottom}" y2="${H - m.bottom}" stroke="#444"/>`);
  // Series: polyline through medians, min–max bars.
  series.forEach((s, i) => {
    const dx = (i - (series.length - 1) / 2) * 6;
    const pts = s.points.map((p) => `${(X(p.n) + dx).toFixed(1)},${Y(p.ratio.median).toFixed(1)}`).join(' ');
    out.push(`<polyline points="${pts}" fill="none" stroke="${s.color}" stroke-width="2"/>`);
    for (const p of s.points) {
      const x = X(p.n) + dx;
      out.push(
        `<line x1="${x.toFixed(1)}" x2="${x.toFixed(1)}" y1="${Y(p.ratio.min).toFixed(1)}" y2="${Y(p.ratio.max).toFixed(1)}" stroke="${s.color}"/>`,
      );
      out.push(`<circle cx="${x.toFixed(1)}" cy="${Y(p.ratio.median).toFixed(1)}" r="4" fill="${s.color}"/>`);
      out.push(
        `<text x="${(x + 7).toFixed(1)}" y="${(Y(p.ratio.median) - 6).toFixed(1)}" fill="${s.color}">${p.ratio.median.toFixed(3)}</text>`,
      );
    }
    const ly = m.top + 4 + i * 18;
    out.push(`<rect x="${m.left + 12}" y="${ly - 9}" width="14" height="4" fill="${s.color}"/>`);
    out.push(`<text x="${m.left + 32}" y="${ly - 3}">${esc(s.name)}</text>`);
  });
  out.push('</svg>');
  return `${out.join('\n')}\n`;
}

function niceStep(raw: number): number {
  const p = 10 ** Math.floor(Math.log10(raw));
  for (const k of [1, 2, 2.5, 5, 10]) if (raw <= k * p) return k * p;
  return 10 * p;
}

function esc(s: string): string {
  return s.replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/>/g, '&gt;');
}
