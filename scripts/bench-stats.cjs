'use strict';
/** Small figures helpers shared by the benchmark scripts. */

const sleep = (ms) => new Promise((resolve) => setTimeout(resolve, ms));

/** `n` rounded to `digits` decimals, or null when it is not a finite number (absent figures stay visible). */
const round = (n, digits = 1) => (Number.isFinite(n) ? +n.toFixed(digits) : null);

/** The p-th percentile of an ascending array (nearest rank); NaN for an empty one. */
function percentile(sorted, p) {
  if (sorted.length === 0) return NaN;
  return sorted[Math.min(sorted.length - 1, Math.floor((p / 100) * sorted.length))];
}

/** Count, p50, p99 and max of millisecond figures, in any order. */
function summary(values) {
  const sorted = [...values].sort((a, b) => a - b);
  return { count: sorted.length, p50Ms: round(percentile(sorted, 50)), p99Ms: round(percentile(sorted, 99)), maxMs: round(sorted[sorted.length - 1] ?? NaN) };
}

module.exports = { percentile, round, sleep, summary };
