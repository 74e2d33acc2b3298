// ONNX Runtime side of bench/compare.py: one session, 1 intra-op thread,
// RUNS timed runs after a warm-up; prints "raw_ms t1 t2 ..." and the output.
// usage: NODE_PATH=DIR/node_modules node bench/ort_bench.js MODEL.onnx RUNS SIDE
const ort = require('onnxruntime-node');

async function main() {
  const [model, runsArg, sideArg] = process.argv.slice(2);
  const runs = parseInt(runsArg, 10), side = parseInt(sideArg, 10);
  const s = await ort.InferenceSession.create(model, {
    intraOpNumThreads: 1, interOpNumThreads: 1, executionMode: 'sequential',
    graphOptimizationLevel: 'all',
  });
  const x = new Float32Array(3 * side * side);
  for (let i = 0; i < x.length; i++) x[i] = ((i * 7919) % 255) / 127.5 - 1;
  const feeds = { [s.inputNames[0]]: new ort.Tensor('float32', x, [1, 3, side, side]) };
  let out = await s.run(feeds); // warm-up
  const t = [];
  for (let r = 0; r < runs; r++) {
    const t0 = process.hrtime.bigint();
    out = await s.run(feeds);
    t.push(Number(process.hrtime.bigint() - t0) / 1e6);
  }
  console.log('raw_ms ' + t.map((v) => v.toFixed(4)).join(' '));
  console.log('out ' + Array.from(out[s.outputNames[0]].data.slice(0, 4)).join(' '));
}
main().catch((e) => { console.error(e); process.exit(1); });
