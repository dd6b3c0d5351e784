/** The few GitHub REST calls the service makes, on `fetch`, against a configurable API URL. */
export interface GitHubClientOptions {
    token: string;
    /** @default "https://api.github.com" */
    apiUrl?: string;
    fetch?: typeof fetch;
}

export interface IssueComment {
    id: number;
    body: string;
    /** The account that wrote it. */
    author?: string;
}

export class GitHubError extends Error {
    constructor(readonly status: number, message: string) {
        super(message);
        this.name = "GitHubError";
    }
}

export class GitHubClient {
    private readonly apiUrl: string;
    private readonly fetch: typeof fetch;
    private me: Promise<string> | undefined;

    constructor(private readonly options: GitHubClientOptions) {
        this.apiUrl = (options.apiUrl ?? "https://api.github.com").replace(/\/$/, "");
        this.fetch = options.fetch ?? globalThis.fetch;
    }

    private async request<T>(method: string, path: string, body?: unknown): Promise<T> {
        const res = await this.fetch(this.apiUrl + path, {
            method,
            headers: {
                authorization: `Bearer ${this.options.token}`,
                accept: "application/vnd.github+json",
                "x-github-api-version": "2022-11-28",
                "user-agent": "todobackend-automation",
                ...(body === undefined ? {} : { "content-type": "application/json" }),
            },
            body: body === undefined ? undefined : JSON.stringify(body),
        });
        if (!res.ok) throw new GitHubError(res.status, `GitHub ${method} ${path} answered ${res.status}`);
        return (await res.json()) as T;
    }

    async listComments(repo: string, issue: number): Promise<IssueComment[]> {
        const all: IssueComment[] = [];
        for (let page = 1; page <= 20; page++) {
            const batch = await this.request<IssueComment[]>("GET", `/repos/${repo}/issues/${issue}/comments?per_page=100&page=${page}`);
            all.push(...batch.map((c) => ({ id: c.id, body: c.body, author: (c as { user?: { login?: string } }).user?.login })));
            if (batch.length < 100) break;
        }
        return all;
    }

    /** The login of the account the token acts as (asked once). */
    login(): Promise<string> {
        this.me ??= this.request<{ login: string }>("GET", "/user").then((u) => u.login);
        this.me.catch(() => (this.me = undefined));
        return this.me;
    }

    createComment(repo: string, issue: number, body: string): Promise<IssueComment> {
        return this.request("POST", `/repos/${repo}/issues/${issue}/comments`, { body });
    }

    updateComment(repo: string, id: number, body: string): Promise<IssueComment> {
        return this.request("PATCH", `/repos/${repo}/issues/comments/${id}`, { body });
    }
}

/**
 * Posts `parts` on a PR, replacing the service's earlier comments that carry `marker` (in
 * order) instead of piling up new ones; earlier parts no longer needed are marked superseded.
 * Only comments the service's own account wrote are edited: anyone can paste the marker.
 */
export async function upsertComments(client: GitHubClient, repo: string, issue: number, marker: string, parts: readonly string[]): Promise<{ created: number; updated: number }> {
    const me = await client.login();
    const existing = (await client.listComments(repo, issue)).filter((c) => c.author === me && c.body.includes(marker)).sort((a, b) => a.id - b.id);
    let created = 0;
    let updated = 0;
    for (let i = 0; i < parts.length; i++) {
        if (existing[i]) {
            await client.updateComment(repo, existing[i].id, parts[i]);
            updated++;
        } else {
            await client.createComment(repo, issue, parts[i]);
            created++;
        }
    }
    for (const old of existing.slice(parts.length)) {
        await client.updateComment(repo, old.id, `${marker}\n_Superseded by a newer preview above._`);
        updated++;
    }
    return { created, updated };
}
