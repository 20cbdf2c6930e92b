// Sends notifications with Adobe's own Node SDK to the Target simulator, to check that the
// simulator accepts what a real client sends. Run by scripts/node-sdk/check.sh.
const TargetClient = require("@adobe/target-nodejs-sdk");
const serverDomain = process.argv[2];
const client = TargetClient.create({
  client: "acmeclient", organizationId: "ABCDEF012345678901234567@AdobeOrg",
  serverDomain, secure: false, logger: { debug() {}, error: console.error }, timeout: 3000,
});
const now = Date.now();
client.sendNotifications({
  request: {
    id: { tntId: "338e3c1e51f7416a8e1ccba4f81acea0.35_0", marketingCloudVisitorId: "0123456789" },
    context: { channel: "web", userAgent: "Mozilla/5.0 (X11)" },
    notifications: [
      { id: "sdk-1", impressionId: "imp-1", type: "display", timestamp: now, tokens: ["tok-a"], mbox: { name: "product1", state: "st" } },
      { id: "sdk-2", type: "click", timestamp: now, tokens: ["tok-b"], view: { name: "home" } },
    ],
  },
  sessionId: "sdk-session-1",
}).then(r => { console.log("OK", r.response.status, JSON.stringify(r.response.notifications)); })
  .catch(e => { console.log("ERR", e.message || e); process.exit(1); });
