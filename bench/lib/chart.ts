// The README chart: median latency per scenario, one bar per variant (plain Prisma, cold,
// hot, floors...), as a self-contained SVG (no plotting dependency).

export interface ChartGroup {
  readonly label: string
  readonly bars: readonly { readonly variant: string; readonly valueUs: number }[]
}

const COLORS: Record<string, string> = {
  'plain Prisma': '#7f8c8d',
  cold: '#e67e22',
  hot: '#27ae60',
  'near, strict': '#16a085',
  'near, bounded': '#1abc9c',
  'prisma-extension-redis': '#8e44ad',
  'with invalidation': '#c0392b',
  floor: '#2980b9',
}

const escape = (s: string) => s.replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/>/g, '&gt;')

/** Horizontal grouped bars on a log scale (hits and database reads differ by 10×). */
export function latencyChart(title: string, subtitle: string, groups: readonly ChartGroup[]): string {
  const barH = 14
  const gap = 10
  const left = 230
  const width = 860
  const plotW = width - left - 90
  const values = groups.flatMap((g) => g.bars.map((b) => b.valueUs))
  const lo = Math.pow(10, Math.floor(Math.log10(Math.min(...values))))
  const hi = Math.pow(10, Math.ceil(Math.log10(Math.max(...values))))
  const x = (v: number) => (plotW * Math.log10(v / lo)) / Math.log10(hi / lo)
  let y = 70
  const parts: string[] = []
  for (const g of groups) {
    parts.push(`<text x="${left - 10}" y="${y + (g.bars.length * barH) / 2 + 4}" text-anchor="end" font-weight="bold">${escape(g.label)}</text>`)
    for (const b of g.bars) {
      const color = COLORS[b.variant] ?? '#8e44ad'
      const w = Math.max(1, x(b.valueUs))
      parts.push(`<rect x="${left}" y="${y}" width="${w.toFixed(1)}" height="${barH - 2}" fill="${color}"/>`)
      parts.push(`<text x="${left + w + 4}" y="${y + barH - 4}" font-size="11">${escape(b.variant)} ${b.valueUs >= 1000 ? `${(b.valueUs / 1000).toFixed(2)} ms` : `${b.valueUs.toFixed(0)} µs`}</text>`)
      y += barH
    }
    y += gap
  }
  const ticks: string[] = []
  for (let v = lo; v <= hi; v *= 10) {
    const tx = left + x(v)
    ticks.push(`<line x1="${tx}" y1="60" x2="${tx}" y2="${y}" stroke="#ddd"/>`)
    ticks.push(`<text x="${tx}" y="${y + 14}" font-size="11" text-anchor="middle">${v >= 1000 ? `${v / 1000} ms` : `${v} µs`}</text>`)
  }
  const height = y + 30
  return [
    `<svg xmlns="http://www.w3.org/2000/svg" width="${width}" height="${height}" font-family="sans-serif" font-size="12">`,
    `<rect width="100%" height="100%" fill="white"/>`,
    `<text x="20" y="25" font-size="16" font-weight="bold">${escape(title)}</text>`,
    `<text x="20" y="45" font-size="11" fill="#555">${escape(subtitle)}</text>`,
    ...ticks,
    ...parts,
    `</svg>`,
  ].join('\n')
}
