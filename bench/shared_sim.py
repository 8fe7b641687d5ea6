#!/usr/bin/env python3
"""Login driver for bench/shared.sh: SAMPLE devices of the emulator's synthetic tenant log in through
N gateway instances (device ID in the trusted X-Intune-Device-Id header), each device once per
PERIOD seconds on average at a random phase, through a random instance, for DURATION seconds.
Prints one JSON line: requests, failures (no answer or 5xx) by status, p99 latency in ms."""
import http.client, json, random, ssl, sys, threading, time

origins, cafile, sample, period, duration, tenant = (sys.argv[1].split(","), sys.argv[2], int(sys.argv[3]),
                                                    float(sys.argv[4]), float(sys.argv[5]), int(sys.argv[6]))
# Spread over the tenant (197 and the tenant size share no factor in the default runs).
ids = ["5e000000-0000-4000-8000-%012x" % (i * 197 % tenant) for i in range(sample)]
ctx = ssl.create_default_context(cafile=cafile)
lock = threading.Lock()
stats = {"requests": 0, "failed": {}, "lat": []}

def worker(my_ids, seed):
    rnd = random.Random(seed)
    conns = {}
    # Every device: first login at a random phase, then every `period` seconds (+-20%).
    due = sorted((rnd.uniform(0, period), d) for d in my_ids)
    start = time.monotonic()
    while due:
        t, dev = due.pop(0)
        if t > duration: continue
        now = time.monotonic() - start
        if t > now: time.sleep(t - now)
        o = rnd.choice(origins)
        host, port = o.replace("https://", "").split(":")
        status = 0
        t0 = time.monotonic()
        for attempt in range(2):
            try:
                c = conns.get(o)
                if c is None:
                    c = conns[o] = http.client.HTTPSConnection(host, int(port), context=ctx, timeout=20)
                c.request("GET", "/login", headers={"X-Intune-Device-Id": dev})
                r = c.getresponse(); r.read(); status = r.status
                break
            except Exception:
                conns.pop(o, None)
        lat = (time.monotonic() - t0) * 1000
        with lock:
            stats["requests"] += 1
            stats["lat"].append(lat)
            if status == 0 or status >= 500:  # 302/403: a NotCompliant device, answered as configured
                stats["failed"][str(status)] = stats["failed"].get(str(status), 0) + 1
        nxt = t + period * rnd.uniform(0.8, 1.2)
        due.append((nxt, dev)); due.sort()

threads = []
n = 8
for k in range(n):
    th = threading.Thread(target=worker, args=(ids[k::n], k)); th.start(); threads.append(th)
for th in threads: th.join()
lat = sorted(stats["lat"]) or [0]
print(json.dumps({"requests": stats["requests"], "failed": stats["failed"],
                  "p99_ms": round(lat[int(len(lat) * 0.99) - 1 if len(lat) > 1 else 0], 1)}))
