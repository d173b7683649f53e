// Reads vCard text on stdin and prints what ical.js (an independent parser) makes of it, as JSON:
// one object per card, {version, properties: [{name, params, type, values}]}.
// A parse error exits 2 with ical.js's message on stderr.
import ICAL from "ical.js";

const chunks = [];
for await (const chunk of process.stdin) chunks.push(chunk);
const text = Buffer.concat(chunks).toString("utf8");

let parsed;
try {
  parsed = ICAL.parse(text);
} catch (error) {
  process.stderr.write(`ical.js: ${error.message}\n`);
  process.exit(2);
}
// Structured values (N, ADR) come back as arrays; dates and times as objects with a string form.
function plain(value) {
  if (Array.isArray(value)) return value.map(plain);
  if (typeof value === "object" && value !== null) return value.toString();
  return value;
}

// One card parses to a jCard array, several to an array of them.
const cards = typeof parsed[0] === "string" ? [parsed] : parsed;
const out = cards.map((jcard) => {
  const component = new ICAL.Component(jcard);
  const properties = component.getAllProperties().map((prop) => ({
    name: prop.name,
    params: prop.toJSON()[1],
    type: prop.type,
    values: prop.getValues().map(plain),
  }));
  return { version: component.getFirstPropertyValue("version"), properties };
});
process.stdout.write(JSON.stringify(out));
