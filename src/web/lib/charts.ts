// Charts for the overview page. Chart.js 4 rather than uPlot: uPlot is built for long time series
// and draws stacked bars only through plugins, while Chart.js has stacked and grouped bars, mixed
// bar-and-line charts, dashed lines, point shapes and pattern fills built in; it is actively kept,
// tree-shakes to the parts registered here, and draws on a canvas that resizes with its box. Its
// canvas says nothing to a screen reader, so every chart comes with a summary and a data table
// (components/chart-figure.tsx).
import {
  BarController,
  BarElement,
  CategoryScale,
  Chart,
  Legend,
  LinearScale,
  LineController,
  LineElement,
  PointElement,
  Tooltip,
} from 'chart.js';

Chart.register(
  BarController,
  BarElement,
  CategoryScale,
  LinearScale,
  LineController,
  LineElement,
  PointElement,
  Legend,
  Tooltip,
);
// Drawn at once: a reload by a live event does not replay an animation (and motion is not forced on anyone).
Chart.defaults.animation = false;
Chart.defaults.responsive = true;
Chart.defaults.maintainAspectRatio = false;
Chart.defaults.color = '#1b2430';
Chart.defaults.borderColor = '#d6dbe1';
Chart.defaults.font.family = 'system-ui, -apple-system, "Segoe UI", Roboto, "DejaVu Sans", "Noto Sans", sans-serif';
Chart.defaults.plugins.legend.labels.boxWidth = 22;
Chart.defaults.plugins.legend.labels.boxHeight = 14;

export { Chart };

/**
 * Colours with at least 3:1 contrast against the white panel, told apart by people with the
 * common colour-vision deficiencies too; each series also has its own fill pattern or line style,
 * so that no series is known by its colour alone.
 */
export const COLOURS = {
  applied: '#00715a',
  rejected: '#b3400a',
  rolled_back: '#7b3fa0',
  proposed: '#0b5fa5',
  median: '#0b5fa5',
  p90: '#b3400a',
  queue: '#1f4e79',
} as const;

export type Fill = 'solid' | 'stripes' | 'dots' | 'cross';

const TILE = 10;

/** A bar fill: `colour` with white marks of one shape over it (stripes, dots or a cross-hatch). */
export function patterned(colour: string, fill: Fill): CanvasPattern | string {
  if (fill === 'solid') return colour;
  const tile = document.createElement('canvas');
  tile.width = TILE;
  tile.height = TILE;
  const g = tile.getContext('2d');
  if (!g) return colour;
  g.fillStyle = colour;
  g.fillRect(0, 0, TILE, TILE);
  g.strokeStyle = 'rgb(255 255 255 / 0.75)';
  g.fillStyle = 'rgb(255 255 255 / 0.75)';
  g.lineWidth = 2;
  if (fill === 'dots') {
    g.beginPath();
    g.arc(TILE / 2, TILE / 2, 1.8, 0, 2 * Math.PI);
    g.fill();
  } else {
    g.beginPath();
    // A diagonal through the tile and its two corner pieces, so the stripes run on across tiles.
    g.moveTo(0, TILE);
    g.lineTo(TILE, 0);
    g.moveTo(-1, 1);
    g.lineTo(1, -1);
    g.moveTo(TILE - 1, TILE + 1);
    g.lineTo(TILE + 1, TILE - 1);
    if (fill === 'cross') {
      g.moveTo(0, 0);
      g.lineTo(TILE, TILE);
    }
    g.stroke();
  }
  return g.createPattern(tile, 'repeat') ?? colour;
}

/** Seconds as the charts and tables show them: minutes, to one decimal. */
export const minutes = (seconds: number | null): number | null =>
  seconds === null ? null : Math.round(seconds / 6) / 10;

/** Seconds in words for a summary: "12 s", "45 min", "2.5 h", "3.2 days". */
export function spoken(seconds: number | null): string {
  if (seconds === null) return 'nothing measured';
  if (seconds < 60) return `${Math.round(seconds)} s`;
  if (seconds < 3600) return `${Math.round(seconds / 60)} min`;
  if (seconds < 172_800) return `${Math.round(seconds / 360) / 10} h`;
  return `${Math.round(seconds / 8640) / 10} days`;
}
