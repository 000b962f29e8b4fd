// How the admin port writes an answer: JSON, or an error as problem details (problem-details.ts), the one shape of
// every error the daemon answers. The admin server and the dashboard's routes both write through these.
import type { ServerResponse } from "node:http";
import { problemContentType, problemText, type ProblemDetails } from "../problem-details.js";

export function sendJson(res: ServerResponse, status: number, body: unknown, headers: Readonly<Record<string, string>> = {}): void {
  const text = `${JSON.stringify(body, null, 2)}\n`;
  res.writeHead(status, { "content-type": "application/json", "content-length": Buffer.byteLength(text), ...headers });
  res.end(text);
}

export function sendProblem(res: ServerResponse, problem: ProblemDetails, headers: Readonly<Record<string, string>> = {}): void {
  const text = problemText(problem);
  res.writeHead(problem.status, { "content-type": problemContentType, "content-length": Buffer.byteLength(text), ...headers });
  res.end(text);
}
