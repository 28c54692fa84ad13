#!/usr/bin/env python3
"""Issue #7, item 9: does one client's expensive filters starve another's lookups?

Against a running server: first a baseline (lookups alone), then the same
lookups while six threads of another client send a 100-predicate filter on an
unindexed metadata key. Lookups are of random user ids read from the server
(UUID-shaped in a generated district). Prints p50/p90/p99/max per phase.

usage: heavy_filters.py BASE HEAVY_ID:SECRET PROBE_ID:SECRET [SECONDS]
"""
import base64, json, random, sys, threading, time, urllib.error, urllib.parse, urllib.request

API = "/ims/oneroster/rostering/v1p2"


def token(base, creds):
    req = urllib.request.Request(base + "/oauth2/token", data=b"grant_type=client_credentials")
    req.add_header("Authorization", "Basic " + base64.b64encode(creds.encode()).decode())
    return json.load(urllib.request.urlopen(req))["access_token"]


def get(url, tok):
    req = urllib.request.Request(url, headers={"Authorization": "Bearer " + tok})
    start = time.perf_counter()
    try:
        with urllib.request.urlopen(req, timeout=120) as r:
            r.read()
            status = r.status
    except urllib.error.HTTPError as e:
        status = e.code
    return status, time.perf_counter() - start


def probe(base, tok, ids, seconds):
    samples, statuses = [], {}
    end = time.time() + seconds
    while time.time() < end:
        status, took = get(f"{base}{API}/users/{random.choice(ids)}", tok)
        samples.append(took)
        statuses[status] = statuses.get(status, 0) + 1
        time.sleep(0.05)
    return samples, statuses


def heavy(base, tok, stop, statuses):
    flt = " OR ".join(f"metadata.k='x{i}'" for i in range(100))
    url = f"{base}{API}/users?" + urllib.parse.urlencode({"filter": flt})
    while not stop.is_set():
        status, _ = get(url, tok)
        statuses.append(status)


def report(name, samples, statuses):
    s = sorted(samples)
    q = lambda p: s[min(len(s) - 1, int(p * len(s)))] * 1000
    print(f"{name:>18}: {len(s)} lookups {statuses}  p50 {q(0.5):.1f} ms  p90 {q(0.9):.1f} ms  "
          f"p99 {q(0.99):.1f} ms  max {s[-1] * 1000:.1f} ms")


def main():
    base, heavy_creds, probe_creds = sys.argv[1:4]
    seconds = float(sys.argv[4]) if len(sys.argv) > 4 else 30
    probe_tok, heavy_tok = token(base, probe_creds), token(base, heavy_creds)
    page = json.load(urllib.request.urlopen(urllib.request.Request(
        f"{base}{API}/users?fields=sourcedId&limit=1000&offset={random.randint(0, 50000)}",
        headers={"Authorization": "Bearer " + probe_tok})))
    ids = [u["sourcedId"] for u in page["users"]]
    report("baseline", *probe(base, probe_tok, ids, seconds))
    stop, heavy_statuses = threading.Event(), []
    threads = [threading.Thread(target=heavy, args=(base, heavy_tok, stop, heavy_statuses)) for _ in range(6)]
    for t in threads:
        t.start()
    time.sleep(1)
    report("six heavy filters", *probe(base, probe_tok, ids, seconds))
    stop.set()
    for t in threads:
        t.join()
    counts = {s: heavy_statuses.count(s) for s in set(heavy_statuses)}
    print(f"heavy filter answers: {counts} (400 = stopped at the query budget, 429 = over the in-flight cap)")


if __name__ == "__main__":
    main()
