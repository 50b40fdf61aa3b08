// Preloaded (node -r) into every server npm run bench measures, after exit-with-parent.js: samples
// the V8 heap every 100 ms and answers the bench's 'heap' message with the peaks, so that the table
// shows how much of the peak RSS is the JavaScript heap and how much is everything else (node's
// own code, DuckDB, buffers). Sampling costs one process.memoryUsage() per 100 ms.
const peak = { heapTotal: 0, heapUsed: 0 };
setInterval(() => {
  const { heapTotal, heapUsed } = process.memoryUsage();
  peak.heapTotal = Math.max(peak.heapTotal, heapTotal);
  peak.heapUsed = Math.max(peak.heapUsed, heapUsed);
}, 100).unref();
process.on('message', (message) => {
  if (message === 'heap') process.send({ heap: { ...peak } });
});
process.channel?.unref();
