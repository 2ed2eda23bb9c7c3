"""List Distillery projects and their runs with metrics, over the GraphQL API.

Python 3 standard library only. Settings come from the environment:
  DISTILLERY_URL       API base URL (default http://127.0.0.1:4000)
  DISTILLERY_TOKEN     a bearer token (Dashboard sign-in or `createApiToken`), or else
  DISTILLERY_EMAIL and DISTILLERY_PASSWORD to sign in.

    python3 docs/examples/notebook.py
"""
import json
import os
import sys
import urllib.error
import urllib.request

API = os.environ.get("DISTILLERY_URL", "http://127.0.0.1:4000").rstrip("/")


def graphql(query, variables=None, token=None):
    body = json.dumps({"query": query, "variables": variables or {}}).encode()
    headers = {"content-type": "application/json", "accept": "application/json"}
    if token:
        headers["authorization"] = "Bearer " + token
    req = urllib.request.Request(API + "/graphql", data=body, headers=headers, method="POST")
    try:
        with urllib.request.urlopen(req, timeout=30) as res:
            answer = json.load(res)
    except urllib.error.HTTPError as e:  # GraphQL errors may come with a 4xx status
        answer = json.load(e)
    if answer.get("errors"):
        raise RuntimeError("; ".join(err["message"] for err in answer["errors"]))
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


RUNS = """query($projectId: ID!, $after: String) {
  runs(projectId: $projectId, first: 50, after: $after) {
    edges { node { id status createdAt recipe baseModel { name } metrics { name value runStepId } } }
    pageInfo { hasNextPage endCursor }
  }
}"""


def runs_of(project_id, token):
    after = None
    while True:
        page = graphql(RUNS, {"projectId": project_id, "after": after}, token)["runs"]
        for edge in page["edges"]:
            yield edge["node"]
        if not page["pageInfo"]["hasNextPage"]:
            return
        after = page["pageInfo"]["endCursor"]


def main():
    token = sign_in()
    teams = graphql("{ teams { id name projects { id name } } }", token=token)["teams"]
    for team in teams:
        for project in team["projects"]:
            print("project %s (team %s)" % (project["name"], team["name"]))
            for run in runs_of(project["id"], token):
                recipe = " -> ".join(step["technique"] for step in run["recipe"]["steps"])
                print("  run %s  %-9s  %s on %s" % (run["id"], run["status"], recipe, run["baseModel"]["name"]))
                # Run-level metrics only; per-step figures carry a runStepId.
                for m in sorted(run["metrics"], key=lambda m: m["name"]):
                    if m["runStepId"] is None:
                        print("    %s=%.6g" % (m["name"], m["value"]))
    return 0


if __name__ == "__main__":
    sys.exit(main())
