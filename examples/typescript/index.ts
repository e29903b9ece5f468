// The secure-azure-ai stack from TypeScript: an Azure OpenAI account and two App Service apps
// that call it with their own managed identities. Keyless: the account's keys are disabled, so
// no key exists anywhere; each app gets Cognitive Services OpenAI User on the account only.
import * as secureAi from "@pulumi/secure-azure-ai";

const stack = new secureAi.SecureAiStack("ai", {
    location: "swedencentral",
    authMode: "keyless",
    prefix: "sai",
    deployments: [
        { name: "chat", model: "gpt-4o-mini", version: "2024-07-18", capacity: 10 },
    ],
    apps: [{ name: "web" }, { name: "api" }],
    allowedIpRanges: ["203.0.113.0/24"],
});

export const aiEndpoint = stack.aiEndpoint;
export const chatDeployment = stack.chatDeployment;
export const apps = stack.apps;
