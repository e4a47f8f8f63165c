// An OTLP/HTTP trace receiver for test-otlp.sh that shares nothing with regtrace's .proto files: it
// decodes each request body with the message classes the OpenTelemetry JavaScript project generated
// from opentelemetry-proto (npm @opentelemetry/otlp-transformer 0.52.1, pinned in tests/package.json).
// Every span goes to OUT as one JSON line; every request's method, path and Content-Type to OUT.requests.
// Answers 200 with an empty ExportTraceServiceResponse, 400 to a body it cannot decode.
//
// usage: node otlp_receiver.js PORT OUT
'use strict';
const fs = require('fs');
const http = require('http');
const path = require('path');

const root = require(path.join(__dirname, '../../node_modules/@opentelemetry/otlp-transformer/build/src/generated/root'));
const service = root.opentelemetry.proto.collector.trace.v1;

const [port, out] = process.argv.slice(2);
if (!port || !out) {
  console.error('usage: node otlp_receiver.js PORT OUT');
  process.exit(2);
}

const hex = (bytes) => Buffer.from(bytes || []).toString('hex');

// An AnyValue as plain JSON (int64 as a number: the values here are far below 2^53).
function valueOf(any) {
  if (!any) return null;
  switch (any.value) {  // the name of the oneof member that is set
    case 'stringValue': return any.stringValue;
    case 'boolValue': return any.boolValue;
    case 'intValue': return Number(any.intValue.toString());
    case 'doubleValue': return any.doubleValue;
    case 'arrayValue': return (any.arrayValue.values || []).map(valueOf);
    case 'bytesValue': return hex(any.bytesValue);
    default: return null;
  }
}

function attributes(list) {
  const out = {};
  for (const kv of list || []) out[kv.key] = valueOf(kv.value);
  return out;
}

function spansOf(request) {
  const lines = [];
  for (const rs of request.resourceSpans || []) {
    const resource = attributes(rs.resource && rs.resource.attributes);
    for (const ss of rs.scopeSpans || []) {
      for (const span of ss.spans || []) {
        lines.push({
          resource,
          scope: ss.scope ? { name: ss.scope.name, version: ss.scope.version } : null,
          traceId: hex(span.traceId),
          spanId: hex(span.spanId),
          parentSpanId: hex(span.parentSpanId),
          traceState: span.traceState || '',
          flags: span.flags || 0,
          name: span.name,
          kind: span.kind,
          startTimeUnixNano: span.startTimeUnixNano.toString(),
          endTimeUnixNano: span.endTimeUnixNano.toString(),
          attributes: attributes(span.attributes),
          events: (span.events || []).map((e) => ({ name: e.name, attributes: attributes(e.attributes) })),
          status: { code: span.status ? span.status.code || 0 : 0, message: span.status ? span.status.message || '' : '' },
        });
      }
    }
  }
  return lines;
}

const server = http.createServer((req, res) => {
  const chunks = [];
  req.on('data', (c) => chunks.push(c));
  req.on('end', () => {
    const body = Buffer.concat(chunks);
    fs.appendFileSync(`${out}.requests`, JSON.stringify({
      method: req.method, path: req.url, contentType: req.headers['content-type'] || '', bytes: body.length,
    }) + '\n');
    let lines;
    try {
      lines = spansOf(service.ExportTraceServiceRequest.decode(body));
    } catch (e) {
      res.writeHead(400, { 'Content-Type': 'text/plain' });
      res.end(`cannot decode: ${e.message}`);
      return;
    }
    for (const line of lines) fs.appendFileSync(out, JSON.stringify(line) + '\n');
    const answer = service.ExportTraceServiceResponse.encode({}).finish();
    res.writeHead(200, { 'Content-Type': 'application/x-protobuf' });
    res.end(Buffer.from(answer));
  });
});
server.listen(Number(port), '127.0.0.1');
process.on('SIGTERM', () => server.close(() => process.exit(0)));
