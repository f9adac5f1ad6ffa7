// AWS Amplify's own GraphQL client (aws-amplify v6), as an app developer uses it beside
// Dialtone, against dialtone-mock over TLS: a mutation, a query, and a subscription that
// receives another client's change through the real-time endpoint (wss://…/graphql/realtime,
// authorization in the `header-…` subprotocol, as Amplify always sends it).
//   node amplify.mjs https://127.0.0.1:PORT API_KEY      (NODE_EXTRA_CA_CERTS=the mock's PEM)
// Prints one line per step and exits 0, or prints the failure and exits 1.
import { Amplify } from "aws-amplify";
import { generateClient } from "aws-amplify/api";
import { Hub } from "aws-amplify/utils";
import WebSocket from "ws";

// Node 20 has no WebSocket of its own; Amplify opens the global one.
globalThis.WebSocket = WebSocket;

const [base, apiKey] = process.argv.slice(2);
const fail = (what) => {
  console.error("amplify: FAILED: " + what);
  process.exit(1);
};
setTimeout(() => fail("timed out after 30 s"), 30000).unref();

Amplify.configure({
  API: { GraphQL: { endpoint: base + "/graphql", region: "us-east-1", defaultAuthMode: "apiKey", apiKey } },
});
const client = generateClient();

const created = await client.graphql({
  query: `mutation Create($input: CreatePersonInput!) {
    createPerson(input: $input) { id firstName lastName clientId _version }
  }`,
  variables: { input: { firstName: "Amplify", lastName: "Client", clientId: "amplify-client" } },
});
const me = created.data.createPerson;
if (me.firstName !== "Amplify" || me._version !== 1) fail("createPerson returned " + JSON.stringify(me));
console.log("amplify: mutation createPerson " + me.id);

const listed = await client.graphql({ query: `query List { listPeople(limit: 100) { items { id firstName } nextToken } }` });
if (!listed.data.listPeople.items.some((p) => p.id === me.id)) fail("listPeople lacks " + me.id);
console.log("amplify: query listPeople " + listed.data.listPeople.items.length + " item(s)");

// Subscribe, wait until Amplify says the subscription is up, then let another client change
// a Person (a plain HTTP request with the key, as any other app would) and wait for it.
const connected = new Promise((resolve) => {
  Hub.listen("api", ({ payload }) => {
    if (payload.event === "ConnectionStateChange" && payload.data.connectionState === "Connected") resolve();
  });
});
const received = new Promise((resolve, reject) => {
  client
    .graphql({ query: `subscription OnCreate { onCreatePerson { id firstName lastName clientId } }` })
    .subscribe({ next: ({ data }) => resolve(data.onCreatePerson), error: (e) => reject(e) });
});
await connected;
console.log("amplify: subscription connected");
const other = await fetch(base + "/graphql", {
  method: "POST",
  headers: { "content-type": "application/json", "x-api-key": apiKey },
  body: JSON.stringify({
    query: `mutation C($input: CreatePersonInput!) { createPerson(input: $input) { id } }`,
    variables: { input: { firstName: "Other", lastName: "Client", clientId: "other-client" } },
  }),
});
if (!other.ok) fail("the other client's createPerson: HTTP " + other.status);
const change = await received.catch((e) => fail("subscription error " + JSON.stringify(e)));
if (change.firstName !== "Other") fail("subscription received " + JSON.stringify(change));
console.log("amplify: subscription received onCreatePerson " + change.id);
process.exit(0);
