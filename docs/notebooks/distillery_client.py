# %% [markdown]
# # Distillery from Python
#
# List runs, compare them, log the metrics of your own training loop, start a sweep and
# read a leaderboard, over Distillery's GraphQL API with the Python standard library only.
#
# Settings come from the environment:
#
# - `DISTILLERY_API_URL`: the API (default `http://127.0.0.1:4000`)
# - `DISTILLERY_TOKEN`: an API token (`distillery login` stores one, or `createApiToken`),
#   or else `DISTILLERY_EMAIL` and `DISTILLERY_PASSWORD` to sign in
# - `DISTILLERY_PROJECT`, `DISTILLERY_MODEL`: a project and a base model (id or name;
#   default: the first project you can see and its first ready model)
#
# This file is the source of the notebook `distillery.ipynb`: each `# %%` block is one
# cell (`python3 docs/notebooks/build_notebook.py` writes the notebook from it), and
# `python3 docs/notebooks/distillery_client.py` runs every cell in order.

# %%
import json
import os
import random
import time
import urllib.error
import urllib.request

API = os.environ.get("DISTILLERY_API_URL", "http://127.0.0.1:4000").rstrip("/")


class GraphQLError(Exception):
    """The API answered with errors (bad input, not allowed): retrying would not help."""

    def __init__(self, errors):
        self.errors = errors
        super().__init__("; ".join("%s (%s)" % (e["message"], e.get("extensions", {}).get("code", "?")) for e in errors))


def graphql(query, variables=None, token=None, attempts=5):
    """One GraphQL operation. Network failures, 429 and 5xx answers are retried with
    exponential backoff; that is safe for logMetrics because each point carries a key."""
    body = json.dumps({"query": query, "variables": variables or {}}).encode()
    headers = {"content-type": "application/json", "accept": "application/json"}
    if token:
        headers["authorization"] = "Bearer " + token
    for attempt in range(attempts):
        req = urllib.request.Request(API + "/graphql", data=body, headers=headers, method="POST")
        try:
            with urllib.request.urlopen(req, timeout=60) as res:
                answer = json.load(res)
        except urllib.error.HTTPError as e:
            if e.code == 429 or e.code >= 500:
                if attempt + 1 == attempts:
                    raise
                time.sleep(0.5 * 2 ** attempt)
                continue
            answer = json.load(e)  # GraphQL errors may come with a 4xx status
        except (urllib.error.URLError, TimeoutError, ConnectionError):
            if attempt + 1 == attempts:
                raise
            time.sleep(0.5 * 2 ** attempt)
            continue
        if answer.get("errors"):
            raise GraphQLError(answer["errors"])
        return answer["data"]


def sign_in():
    token = os.environ.get("DISTILLERY_TOKEN")
    if token:
        return token
    data = graphql(
        "mutation($e: String!, $p: String!) { signIn(email: $e, password: $p) { token } }",
        {"e": os.environ["DISTILLERY_EMAIL"], "p": os.environ["DISTILLERY_PASSWORD"]},
    )
    return data["signIn"]["token"]


TOKEN = sign_in()


def q(query, **variables):
    return graphql(query, variables, TOKEN)


# %% [markdown]
# ## Pick a project and a base model

# %%
teams = q("{ teams { id name projects { id name models { id name status producedByRun { id } } } } }")["teams"]
wanted_project = os.environ.get("DISTILLERY_PROJECT")
team, project = next(
    (t, p)
    for t in teams
    for p in t["projects"]
    if wanted_project in (None, p["id"], p["name"])
)
wanted_model = os.environ.get("DISTILLERY_MODEL")


def usable(m):
    if m["status"] != "ready":
        return False
    if wanted_model:
        return wanted_model in (m["id"], m["name"])
    return m["producedByRun"] is None  # a model you brought, not one a run produced


model = next(m for m in project["models"] if usable(m))
print("project %s (%s), team %s, base model %s (%s)" % (project["name"], project["id"], team["name"], model["name"], model["id"]))

# %% [markdown]
# ## List runs
# Newest first, 50 per page, following the cursor.

# %%
RUNS = """query($p: ID!, $after: String) {
  runs(projectId: $p, first: 50, after: $after) {
    edges { node { id status recipe tags } }
    pageInfo { hasNextPage endCursor }
  }
}"""


def all_runs(project_id):
    after = None
    while True:
        page = q(RUNS, p=project_id, after=after)["runs"]
        for edge in page["edges"]:
            yield edge["node"]
        if not page["pageInfo"]["hasNextPage"]:
            return
        after = page["pageInfo"]["endCursor"]


runs = list(all_runs(project["id"]))
for run in runs:
    steps = run["recipe"].get("steps") or []
    what = " -> ".join(s["technique"] for s in steps) or "external"
    print("run %s %-9s %s" % (run["id"], run["status"], what))
print("%d runs" % len(runs))

# %% [markdown]
# ## Compare finished runs
# Each cell is the run's value and its change against its base model.

# %%
finished = [r["id"] for r in runs if r["status"] == "succeeded"][:5]
if len(finished) >= 2:
    comparison = q(
        """query($ids: [ID!]!) { compareRuns(ids: $ids) {
             metrics { name unit cells { runId value delta ratio better } } } }""",
        ids=finished,
    )["compareRuns"]
    for metric in comparison["metrics"]:
        if all(c["value"] is None for c in metric["cells"]):
            continue
        cells = []
        for c in metric["cells"]:
            text = "-" if c["value"] is None else "%.6g" % c["value"]
            if c["ratio"] is not None:
                text += " (x%.4g)" % c["ratio"]
            cells.append(text)
        print("compare %-28s %s" % (metric["name"], "  ".join(cells)))
else:
    print("compare: fewer than two succeeded runs yet")

# %% [markdown]
# ## Log metrics from your own training loop
# A toy loop (least squares by gradient descent) logs its loss to an external run. Every
# point has a key chosen here (`loss:<step>`), so sending a batch twice (a retry after a
# lost answer) stores each point once.

# %%
LOG = "mutation($r: ID!, $pts: [MetricPointInput!]!) { logMetrics(runId: $r, points: $pts) { accepted duplicates } }"

lr, steps = 0.05, 60
external = q(
    "mutation($p: ID!, $m: ID!, $n: String!, $params: JSON) { createExternalRun(projectId: $p, baseModelId: $m, name: $n, params: $params) { id status } }",
    p=project["id"], m=model["id"], n="toy least squares", params={"lr": lr, "steps": steps},
)["createExternalRun"]
print("external run %s %s" % (external["id"], external["status"]))

rng = random.Random(0)
xs = [rng.uniform(-1, 1) for _ in range(64)]
ys = [3.0 * x + 0.5 + rng.gauss(0, 0.1) for x in xs]
w, b = 0.0, 0.0
batch, accepted, duplicates = [], 0, 0
for step in range(steps):
    errors = [w * x + b - y for x, y in zip(xs, ys)]
    loss = sum(e * e for e in errors) / len(errors)
    w -= lr * 2 * sum(e * x for e, x in zip(errors, xs)) / len(xs)
    b -= lr * 2 * sum(errors) / len(xs)
    batch.append({"key": "loss:%d" % step, "name": "train/loss", "step": step, "value": loss})
    if len(batch) == 20 or step == steps - 1:
        result = q(LOG, r=external["id"], pts=batch)["logMetrics"]
        accepted += result["accepted"]
        duplicates += result["duplicates"]
        last_batch, batch = batch, []

# Pretend the answer to the last call was lost and send it again: nothing is doubled.
retry = q(LOG, r=external["id"], pts=last_batch)["logMetrics"]
print("logged %d points (%d duplicates); retry of the last batch: accepted %d, duplicates %d" % (accepted, duplicates, retry["accepted"], retry["duplicates"]))
print("final loss %.6g, w %.4f, b %.4f" % (loss, w, b))

# %% [markdown]
# ## Start a sweep
# A grid over the bit width of round-to-nearest quantization; the workers run it.

# %%
sweep = q(
    """mutation($p: ID!, $m: ID!, $r: JSON!, $space: JSON!) {
         createSweep(projectId: $p, baseModelId: $m, name: "rtn bits", mode: grid, recipe: $r, space: $space, maxRuns: 2, parallelism: 1) {
           id status maxRuns runs { id status } } }""",
    p=project["id"], m=model["id"],
    r={"steps": [{"technique": "quantize.rtn", "params": {"bits": 8}}]},
    space=[{"path": "steps[0].params.bits", "values": [4, 8]}],
)["createSweep"]
print("sweep %s %s, up to %d runs, started %d" % (sweep["id"], sweep["status"], sweep["maxRuns"], len(sweep["runs"])))

# %% [markdown]
# ## Read a leaderboard
# The team's succeeded runs ranked by output size relative to the base model (lower is better).

# %%
board = q(
    """query($t: ID!) { leaderboard(metric: "ratio.size", scope: TEAM, teamId: $t, suiteVersion: 1, first: 10) {
         metric { name lowerIsBetter } entries { rank runId value techniques } } }""",
    t=team["id"],
)["leaderboard"]
for entry in board["entries"]:
    print("rank %d %s=%.6g run %s (%s)" % (entry["rank"], board["metric"]["name"], entry["value"], entry["runId"], " + ".join(entry["techniques"])))
print("%d leaderboard entries" % len(board["entries"]))
