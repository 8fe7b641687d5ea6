#!/usr/bin/env python3
"""The soak's driver (bench/soak.sh starts the processes, then runs this; docs/performance.md,
"Endurance"). Mixed load against one gateway for --seconds while the Graph emulator flips device
states and injects faults in phases, Redis is restarted and the config is reloaded every 15 s
(every other reload invalid). Every answer is checked against the device's state history (the
rule is in docs/performance.md, "What a right answer is"); RSS, open descriptors and the
gateway's Redis and Graph connections are sampled. Prints a JSON summary as its last line and
exits 1 when a check failed."""
import argparse
import base64
import datetime
import http.client
import json
import math
import os
import random
import signal
import socket
import ssl
import subprocess
import sys
import threading
import time

from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import ExtendedKeyUsageOID, NameOID

STATES = ["compliant", "noncompliant", "inGracePeriod", "configManager", "conflict", "unknown", "error"]
OUTCOME = {"compliant": "Compliant", "noncompliant": "NotCompliant", "inGracePeriod": "InGracePeriod",
           "configManager": "ConfigManager", "conflict": "Conflict", "unknown": "StatusUnknown", "error": "Error"}
KINDS = ["keepalive", "new", "resume", "authz", "refresh"]
# The fault phases, one cycle per 60 s: (start s, end s, name, emulator fault for every Graph request).
PHASES = [(12, 20, "slow", {"latency_ms": 700}),
          (27, 31, "429", {"status": 429, "retry_after": 2}),
          (40, 44, "503", {"status": 503}),
          (51, 55, "garbage", {"non_json": True})]
RELOAD_EVERY = 15.0
REDIS_RESTART_AT = 33.0   # within each cycle of REDIS_EVERY seconds
REDIS_EVERY = 120.0
REDIS_DOWN = 2.0
FRONT_THREADS = 7  # keep-alive 3, new 2, resume 2


def now():
    return time.monotonic()


class Emulator:
    """The emulator's control API over one kept-alive connection (shared, locked)."""

    def __init__(self, port, cafile):
        self.port, self.lock = port, threading.Lock()
        self.ctx = ssl.create_default_context(cafile=cafile)
        self.conn = None

    def call(self, method, path, body=None):
        with self.lock:
            for attempt in range(2):
                try:
                    if self.conn is None:
                        self.conn = http.client.HTTPSConnection("localhost", self.port, context=self.ctx, timeout=10)
                    data = None if body is None else json.dumps(body)
                    self.conn.request(method, path, body=data, headers={"Content-Type": "application/json"})
                    r = self.conn.getresponse()
                    out = r.read()
                    if r.status != 200:
                        raise RuntimeError("emulator %s %s: %d %s" % (method, path, r.status, out[:200]))
                    return json.loads(out)
                except (OSError, http.client.HTTPException):
                    self.conn = None
                    if attempt:
                        raise

    def close(self):
        with self.lock:
            if self.conn:
                self.conn.close()
                self.conn = None


class Devices:
    """1,000 devices with certificates (one key, one certificate each) and their state history."""

    def __init__(self, n, pki, workdir, seed):
        self.rng = random.Random(seed)
        self.ids = ["50a40000-0000-4000-8000-%012x" % i for i in range(n)]
        self.state = {d: STATES[i % len(STATES)] for i, d in enumerate(self.ids)}
        # history[d]: [(sent, acknowledged, state)]; the first entry is the initial state.
        self.history = {d: [(-1e18, -1e18, s)] for d, s in self.state.items()}
        self.lock = threading.Lock()
        self.cafile = os.path.join(pki, "server-ca.crt")
        self.dir = os.path.join(workdir, "devices")
        os.makedirs(self.dir, exist_ok=True)
        self.der = {}
        self._make_certs(pki)
        self.ctx = {}

    def _make_certs(self, pki):
        ca_cert = x509.load_pem_x509_certificate(open(os.path.join(pki, "device-ca.crt"), "rb").read())
        ca_key = serialization.load_pem_private_key(open(os.path.join(pki, "device-ca.key"), "rb").read(), None)
        key = ec.generate_private_key(ec.SECP256R1())
        self.keyfile = os.path.join(self.dir, "device.key")
        with open(self.keyfile, "wb") as f:
            f.write(key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8,
                                      serialization.NoEncryption()))
        start = datetime.datetime.now(datetime.timezone.utc) - datetime.timedelta(hours=1)
        for d in self.ids:
            cert = (x509.CertificateBuilder()
                    .subject_name(x509.Name([x509.NameAttribute(NameOID.ORGANIZATION_NAME, "intune-gate soak"),
                                             x509.NameAttribute(NameOID.COMMON_NAME, "soak-" + d[-6:])]))
                    .issuer_name(ca_cert.subject).public_key(key.public_key())
                    .serial_number(x509.random_serial_number())
                    .not_valid_before(start).not_valid_after(start + datetime.timedelta(days=2))
                    .add_extension(x509.BasicConstraints(ca=False, path_length=None), critical=True)
                    .add_extension(x509.KeyUsage(True, False, False, False, False, False, False, False, False),
                                   critical=True)
                    .add_extension(x509.ExtendedKeyUsage([ExtendedKeyUsageOID.CLIENT_AUTH]), critical=False)
                    .add_extension(x509.SubjectAlternativeName(
                        [x509.UniformResourceIdentifier("IntuneDeviceId://" + d)]), critical=False)
                    .sign(ca_key, hashes.SHA256()))
            with open(os.path.join(self.dir, d + ".crt"), "wb") as f:
                f.write(cert.public_bytes(serialization.Encoding.PEM))
            self.der[d] = cert.public_bytes(serialization.Encoding.DER)

    def context(self, d):
        with self.lock:  # one context per device: a session resumes only with the context it came from
            c = self.ctx.get(d)
            if c is None:
                c = ssl.create_default_context(cafile=self.cafile)
                c.load_cert_chain(os.path.join(self.dir, d + ".crt"), self.keyfile)
                self.ctx[d] = c
            return c

    def client_cert_header(self, d):  # RFC 9440 byte sequence
        return ":" + base64.b64encode(self.der[d]).decode() + ":"

    def pick(self, rng):
        return self.ids[rng.randrange(len(self.ids))]

    def documents(self, ids):
        return {d: {"deviceName": "SOAK-" + d[-6:], "complianceState": self.state[d],
                    "managementAgent": "mdm", "operatingSystem": "Windows"} for d in ids}

    def flip(self, emulator, count):
        # A change is in the history from before it is sent, open-ended until acknowledged: an answer
        # checked meanwhile (this thread may wait for the interpreter lock after the emulator has
        # already applied the change) may be of either state.
        with self.lock:
            chosen = self.rng.sample(self.ids, count)
            for d in chosen:
                self.state[d] = self.rng.choice([s for s in STATES if s != self.state[d]])
            docs = self.documents(chosen)
            sent = now()
            for d in chosen:
                self.history[d].append((sent, math.inf, docs[d]["complianceState"]))
        emulator.call("POST", "/_emulator/devices", docs)
        done = now()
        with self.lock:
            for d in chosen:
                self.history[d][-1] = (sent, done, docs[d]["complianceState"])
        return count

    def states_between(self, d, start, end):
        """Every state device d may have had at some moment in [start, end]."""
        with self.lock:
            hist = list(self.history[d])
        out, before = set(), hist[0][2]
        for sent, done, s in hist[1:]:
            if done < start:
                before = s
            elif sent <= end:
                out.add(s)
        out.add(before)
        return out


class Checker:
    """The rule of docs/performance.md, "What a right answer is"."""

    def __init__(self, devices, cfg):
        self.devices, self.cfg = devices, cfg
        self.faults = []       # [start, end or None]
        self.lock = threading.Lock()
        self.count = {k: 0 for k in KINDS}
        self.checked = 0
        self.outcomes = {}
        self.stale = self.errors_in_faults = 0
        self.transport = {k: 0 for k in KINDS}
        self.reconnects = 0
        self.wrong = []

    def fault_began(self):
        with self.lock:
            self.faults.append([now(), None])

    def fault_ended(self):
        with self.lock:
            self.faults[-1][1] = now()

    def in_fault(self, t0, t1):
        # A fault's effects last past its end: the Graph back-off hold (Retry-After, else 5 s), a
        # lookup already waiting (timeout_ms) and a second of slack.
        tail = max(5.0, 2.0) + self.cfg["timeout_s"] + 1.0
        with self.lock:
            for start, end in self.faults:
                if t1 >= start - 0.5 and (end is None or t0 <= end + tail):
                    return True
        return False

    def record(self, kind, d, t0, t1, outcome, stale):
        """outcome: the outcome name the answer carries; stale: True/False, or None when not visible."""
        ttl = self.cfg["compliant_ttl"] if outcome == "Compliant" else self.cfg["other_ttl"]
        slack = self.cfg["timeout_s"] + 1.0
        fault = self.in_fault(t0, t1)
        if kind == "refresh":
            start = t0 - 0.5  # a refresh asks Graph now
        else:
            start = t0 - ttl - slack
        if stale or (stale is None and fault):
            start = min(start, t0 - self.cfg["stale_s"] - slack)
        states = self.devices.states_between(d, start, t1)
        ok = outcome in {OUTCOME[s] for s in states}
        if outcome == "Error" and fault:
            ok = True
            with self.lock:
                self.errors_in_faults += 1
        if stale and not fault:
            ok = False
        with self.lock:
            self.count[kind] += 1
            self.checked += 1
            self.outcomes[outcome] = self.outcomes.get(outcome, 0) + 1
            self.stale += 1 if stale else 0
            if not ok and len(self.wrong) < 50:
                self.wrong.append({"kind": kind, "device": d, "t0": round(t0 - self.cfg["t_start"], 3),
                                   "t1": round(t1 - self.cfg["t_start"], 3), "outcome": outcome, "stale": stale,
                                   "fault": fault, "states": sorted(states)})
            if not ok:
                self.count.setdefault("wrong", 0)
                self.count["wrong"] += 1

    def transport_error(self, kind, what):
        with self.lock:
            self.transport[kind] += 1
            if self.transport[kind] <= 5:
                print("soak: %s transport error: %s" % (kind, what), file=sys.stderr)


def front_outcome(status, headers, body):
    """The outcome of a front-end answer: forward (the upstream echoes what it was given), redirect, reject."""
    if status == 200:
        fields = dict(p.split("=", 1) for p in body.decode().split() if "=" in p)
        return fields.get("outcome", "?"), fields.get("stale", "") != ""
    if status == 302:
        return "NotCompliant", None
    try:
        return json.loads(body).get("outcome", "?"), None
    except ValueError:
        return "status %d" % status, None


def read_response(sock):
    r = http.client.HTTPResponse(sock)
    r.begin()
    return r.status, r, r.read()


class Load:
    def __init__(self, args, devices, checker, stop):
        self.args, self.devices, self.checker, self.stop = args, devices, checker, stop
        self.handshakes = self.resumed = 0
        self.lock = threading.Lock()

    def _connect(self, d, session=None):
        raw = socket.create_connection(("127.0.0.1", self.args.gate_port), timeout=15)
        s = self.devices.context(d).wrap_socket(raw, server_hostname="localhost", session=session)
        with self.lock:
            self.handshakes += 1
            self.resumed += 1 if s.session_reused else 0
        return s

    def _front_once(self, kind, d, s, close):
        t0 = now()
        s.sendall(("GET /soak/%s HTTP/1.1\r\nHost: localhost\r\n%s\r\n" %
                   (kind, "Connection: close\r\n" if close else "")).encode())
        status, r, body = read_response(s)
        outcome, stale = front_outcome(status, r, body)
        self.checker.record(kind, d, t0, now(), outcome, stale)
        return r

    def keepalive(self, seed):
        rng = random.Random(seed)
        while not self.stop.is_set():
            d = self.devices.pick(rng)
            try:
                s = self._connect(d)
                for _ in range(20):
                    if self.stop.is_set():
                        break
                    r = self._front_once("keepalive", d, s, False)
                    if r.will_close:
                        break
                s.close()
            except (OSError, ssl.SSLError, http.client.HTTPException) as e:
                self.checker.transport_error("keepalive", repr(e))
                time.sleep(0.05)

    def new(self, seed):
        rng = random.Random(seed)
        while not self.stop.is_set():
            d = self.devices.pick(rng)
            try:
                s = self._connect(d)
                self._front_once("new", d, s, True)
                s.close()
            except (OSError, ssl.SSLError, http.client.HTTPException) as e:
                self.checker.transport_error("new", repr(e))
                time.sleep(0.05)

    def resume(self, seed):
        rng = random.Random(seed)
        while not self.stop.is_set():
            d, session = self.devices.pick(rng), None
            for _ in range(10):
                if self.stop.is_set():
                    break
                try:
                    s = self._connect(d, session)
                    self._front_once("resume", d, s, True)
                    session = s.session
                    s.close()
                except (OSError, ssl.SSLError, http.client.HTTPException, ValueError) as e:
                    self.checker.transport_error("resume", repr(e))
                    session = None
                    time.sleep(0.05)

    def authz(self, seed):
        rng = random.Random(seed)
        conn, fresh = None, True
        while not self.stop.is_set():
            d = self.devices.pick(rng)
            t0 = now()
            try:
                if conn is None:
                    conn, fresh = http.client.HTTPConnection("127.0.0.1", self.args.authz_port, timeout=15), True
                conn.request("GET", "/authz", headers={"Client-Cert": self.devices.client_cert_header(d)})
                r = conn.getresponse()
                r.read()
                fresh = False
                # X-Intune-Stale comes with allow answers only; a refusal does not say.
                stale = bool(r.getheader("X-Intune-Stale", "")) if r.status == 200 else None
                self.checker.record("authz", d, t0, now(), r.getheader("X-Intune-Outcome", "?"), stale)
                if r.will_close:
                    conn.close()
                    conn = None
            except (OSError, http.client.HTTPException) as e:
                if conn is not None:
                    conn.close()
                conn = None
                if fresh:
                    self.checker.transport_error("authz", repr(e))
                    time.sleep(0.05)
                else:  # a kept-alive connection the server had closed: retried on a new one
                    self.checker.reconnects += 1
        if conn is not None:
            conn.close()

    def refresh(self, seed):
        """The help desk: one refresh a second, each of another device (the admin listener allows
        one per device per 10 s and 2 a second overall)."""
        rng = random.Random(seed)
        while not self.stop.wait(1.0):
            d = self.devices.pick(rng)
            t0 = now()
            try:
                conn = http.client.HTTPConnection("127.0.0.1", self.args.admin_port, timeout=15)
                conn.request("POST", "/devices/%s/refresh" % d)
                r = conn.getresponse()
                body = r.read()
                conn.close()
                if r.status == 429:
                    continue
                outcome = json.loads(body).get("outcome", "?") if r.status == 200 else "status %d" % r.status
                self.checker.record("refresh", d, t0, now(), outcome, None)
            except (OSError, http.client.HTTPException, ValueError) as e:
                self.checker.transport_error("refresh", repr(e))


class Chaos:
    """Faults in phases, Redis restarts, reloads (every other one invalid)."""

    def __init__(self, args, emulator, checker, stop, t_start):
        self.args, self.emu, self.checker, self.stop, self.t_start = args, emulator, checker, stop, t_start
        self.events = []
        self.valid_config = open(args.config).read()
        self.reloads = {"valid": 0, "invalid": 0}
        self.redis_restarts = 0
        self.phase_counts = {}

    def event(self, what):
        self.events.append((round(now() - self.t_start, 2), what))

    def faults(self):
        active = None
        while not self.stop.wait(0.2):
            at = (now() - self.t_start) % 60.0
            want = next((p for p in PHASES if p[0] <= at < p[1]), None)
            if want is active:
                continue
            if active is not None:
                self.emu.call("DELETE", "/_emulator/fault")
                self.checker.fault_ended()
                self.event("fault %s off" % active[2])
            if want is not None:
                self.checker.fault_began()
                self.emu.call("POST", "/_emulator/fault/*", want[3])
                self.phase_counts[want[2]] = self.phase_counts.get(want[2], 0) + 1
                self.event("fault %s on" % want[2])
            active = want
        if active is not None:
            self.emu.call("DELETE", "/_emulator/fault")
            self.checker.fault_ended()

    def invalid_config(self, n):
        kind = n % 3
        if kind == 0:
            return self.valid_config[: len(self.valid_config) // 2]  # not JSON
        cfg = json.loads(self.valid_config)
        if kind == 1:
            cfg["limits"]["idle_timeout_seconds"] = 10  # an unknown key
        else:
            cfg["tls"]["client_ca"] = "/nonexistent/device-ca.crt"
        return json.dumps(cfg)

    def write_config(self, text):
        tmp = self.args.config + ".tmp"
        with open(tmp, "w") as f:
            f.write(text)
        os.replace(tmp, self.args.config)

    def reloads_loop(self):
        n = 0
        while not self.stop.wait(RELOAD_EVERY):
            n += 1
            if n % 2:
                cfg = json.loads(self.valid_config)
                cfg["limits"]["idle_timeout_s"] = cfg["limits"]["idle_timeout_s"] + (n // 2) % 2
                self.write_config(json.dumps(cfg, indent=1))
                self.reloads["valid"] += 1
                self.event("reload (valid)")
            else:
                self.write_config(self.invalid_config(n // 2))
                self.reloads["invalid"] += 1
                self.event("reload (invalid)")
            os.kill(self.args.gate_pid, signal.SIGHUP)
        self.write_config(self.valid_config)

    def redis_loop(self):
        first = True
        while True:
            at = (now() - self.t_start) % REDIS_EVERY
            wait = (REDIS_RESTART_AT - at) % REDIS_EVERY
            if not first and wait < 1:
                wait += REDIS_EVERY
            first = False
            if self.stop.wait(wait):
                return
            self.event("redis stopped")
            subprocess.run(["redis-cli", "-p", str(self.args.redis_port), "shutdown", "nosave"],
                           stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
            time.sleep(REDIS_DOWN)
            subprocess.run(self.args.redis_start, shell=True, check=True)
            self.redis_restarts += 1
            self.event("redis started")


def gate_sample(pid):
    rss = 0
    for line in open("/proc/%d/status" % pid):
        if line.startswith("VmRSS:"):
            rss = int(line.split()[1])
    return rss, len(os.listdir("/proc/%d/fd" % pid))


def describe_fds(pid):
    """The gateway's descriptors by kind, and its TCP sockets by state and peer port (ss)."""
    kinds = {}
    for fd in os.listdir("/proc/%d/fd" % pid):
        try:
            target = os.readlink("/proc/%d/fd/%s" % (pid, fd))
        except OSError:
            continue
        kind = target.split(":")[0] if ":" in target else "file"
        kinds[kind] = kinds.get(kind, 0) + 1
    out = subprocess.run(["ss", "-tanpH"], capture_output=True, text=True).stdout
    for line in out.splitlines():
        if "pid=%d," % pid in line:
            f = line.split()
            key = "tcp %s local %s peer %s" % (f[0], f[3].rsplit(":", 1)[1], f[4].rsplit(":", 1)[1])
            if f[0] == "LISTEN" or f[4].endswith(":*"):
                key = "tcp LISTEN"
            kinds[key] = kinds.get(key, 0) + 1
    return kinds


def redis_clients(port):
    try:
        out = subprocess.run(["redis-cli", "-p", str(port), "info", "clients"], capture_output=True, text=True,
                             timeout=5).stdout
        for line in out.splitlines():
            if line.startswith("connected_clients:"):
                return int(line.split(":")[1]) - 1  # not redis-cli itself
    except (subprocess.SubprocessError, ValueError):
        pass
    return -1


def upstream_conns(pid, port):
    out = subprocess.run(["ss", "-tanpH", "state", "established", "( dport = :%d )" % port],
                         capture_output=True, text=True).stdout
    return sum(1 for line in out.splitlines() if "pid=%d," % pid in line)


def sample(args, emu, t_start):
    rss, fds = gate_sample(args.gate_pid)
    graph = emu.call("GET", "/_emulator/stats")["open_connections"] - 1  # not this control connection
    return {"t": round(now() - t_start, 1), "rss_kb": rss, "fds": fds, "graph_conns": graph,
            "redis_conns": redis_clients(args.redis_port),
            "upstream_conns": upstream_conns(args.gate_pid, args.upstream_port)}


def own_fds(s):
    """Descriptors besides the two kept-alive pools (Graph and login; the upstream)."""
    return s["fds"] - s["graph_conns"] - s["upstream_conns"]


def warm_up(args, devices):
    """Every device once through the authorization endpoint: the caches hold 1,000 verdicts."""
    conn = http.client.HTTPConnection("127.0.0.1", args.authz_port, timeout=15)
    for d in devices.ids:
        want, got = OUTCOME[devices.state[d]], None
        for _ in range(3):  # a lookup timed out on a starved machine is asked again
            conn.request("GET", "/authz", headers={"Client-Cert": devices.client_cert_header(d)})
            r = conn.getresponse()
            r.read()
            got = r.getheader("X-Intune-Outcome")
            if got == want:
                break
        if got != want:
            raise RuntimeError("warm-up: %s answered %s, expected %s" % (d, got, want))
    conn.close()


def log_problems(path, chaos, checker, t_start, t_wall_start):
    """Warning and error lines of the gateway's log that the phase at their time does not explain."""
    allowed_always = {"config reloaded"}
    fault_msgs = {"graph failed, serving the last known verdict",
                  "graph asked to back off, failing lookups fast until then"}
    redis_msgs = {"shared cache unavailable, using the local cache and Graph",
                  "shared cache did not answer, using the local cache and Graph"}
    reload_msgs = {"reload refused, keeping the running config"}
    redis_windows, reload_times = [], []
    for at, what in chaos.events:
        if what == "redis stopped":
            redis_windows.append([at - 1, at + REDIS_DOWN + 6])
        if what == "reload (invalid)":
            reload_times.append(at)
    problems, counted = [], {}
    for line in open(path, errors="replace"):
        try:
            rec = json.loads(line)
        except ValueError:
            problems.append("not JSON: " + line[:200])
            continue
        if rec.get("type") == "access" or rec.get("level") not in ("warn", "warning", "error"):
            continue
        msg = rec.get("msg", "")
        counted[msg] = counted.get(msg, 0) + 1
        try:
            wall = datetime.datetime.strptime(rec["time"], "%Y-%m-%dT%H:%M:%S.%fZ").replace(
                tzinfo=datetime.timezone.utc).timestamp()
        except (KeyError, ValueError):
            problems.append("no time: " + line[:200])
            continue
        at = wall - t_wall_start
        mono = t_start + at
        if msg in allowed_always:
            continue
        if msg == "shared cache value ignored" and rec.get("reason") == "expired":
            continue  # read just after its own expiry, before Redis dropped the key: a lookup follows
        if msg == "compliance lookup" and rec.get("reason") == "complianceState error":
            continue  # the device's own state, logged as an Error lookup
        if msg == "compliance lookup" and checker.in_fault(mono, mono):
            continue
        if msg in fault_msgs and checker.in_fault(mono, mono):
            continue
        if msg in redis_msgs and any(a <= at <= b for a, b in redis_windows):
            continue
        if msg in reload_msgs and any(abs(at - r) < 3 for r in reload_times):
            continue
        problems.append("%.1f s: %s" % (at, line.strip()[:300]))
    return problems, counted


def main():
    p = argparse.ArgumentParser()
    for name in ("pki", "workdir", "config", "gate_log", "redis_start"):
        p.add_argument("--" + name.replace("_", "-"), required=True)
    for name in ("gate_port", "authz_port", "admin_port", "emu_port", "redis_port", "gate_pid", "upstream_port"):
        p.add_argument("--" + name.replace("_", "-"), type=int, required=True)
    p.add_argument("--seconds", type=float, default=600)
    p.add_argument("--devices", type=int, default=1000)
    p.add_argument("--seed", type=int, default=27)
    args = p.parse_args()

    cfg_doc = json.load(open(args.config))
    cache = cfg_doc["intune"]["cache"]
    cfg = {"compliant_ttl": cache["compliant_ttl_s"], "other_ttl": cache["other_ttl_s"],
           "stale_s": cfg_doc["intune"]["stale_if_error_s"], "timeout_s": cfg_doc["intune"]["timeout_ms"] / 1000.0}

    t = now()
    devices = Devices(args.devices, args.pki, args.workdir, args.seed)
    emu = Emulator(args.emu_port, os.path.join(args.pki, "server-ca.crt"))
    emu.call("POST", "/_emulator/devices", devices.documents(devices.ids))
    print("soak: %d devices with certificates in %.1f s" % (len(devices.ids), now() - t), file=sys.stderr)
    t = now()
    warm_up(args, devices)
    print("soak: warm-up pass (every device once, authz) in %.1f s" % (now() - t), file=sys.stderr)
    time.sleep(1)
    baseline = sample(args, emu, now())
    baseline_fds = describe_fds(args.gate_pid)

    stop = threading.Event()
    t_start, t_wall_start = now(), time.time()
    cfg["t_start"] = t_start
    checker = Checker(devices, cfg)
    load = Load(args, devices, checker, stop)
    chaos = Chaos(args, emu, checker, stop, t_start)
    threads = []
    for i, (fn, n) in enumerate([(load.keepalive, 3), (load.new, 2), (load.resume, FRONT_THREADS - 5), (load.authz, 2),
                                 (load.refresh, 1), (chaos.faults, 1), (chaos.reloads_loop, 1),
                                 (chaos.redis_loop, 1)]):
        for j in range(n):
            threads.append(threading.Thread(target=fn, args=() if fn.__self__ is chaos else (args.seed * 100 + i * 10 + j,),
                                            daemon=True))
    for th in threads:
        th.start()
    samples, flips = [], 0
    # Warm-up: the first fault cycle (every phase, a reload of each kind), half of a shorter run.
    warm_end = t_start + min(60.0, args.seconds / 2)
    warm_sample = None
    next_sample = t_start
    while now() < t_start + args.seconds:
        if not os.path.exists("/proc/%d" % args.gate_pid):
            break
        flips += devices.flip(emu, 10)
        if now() >= next_sample:
            samples.append(sample(args, emu, t_start))
            samples[-1]["answers"] = checker.checked
            next_sample += max(5.0, args.seconds / 40)
            if warm_sample is None and now() >= warm_end:
                warm_sample = samples[-1]
        time.sleep(0.5)
    alive = os.path.exists("/proc/%d" % args.gate_pid)
    end_load = sample(args, emu, t_start) if alive else None
    stop.set()
    for th in threads:
        th.join(30)
    elapsed = now() - t_start
    # Quiet: no load, no fault, Redis up. What the gateway holds should be back to the baseline.
    quiet = None
    if alive:
        for _ in range(40):
            time.sleep(0.5)
            quiet = sample(args, emu, t_start)
            if quiet["redis_conns"] == baseline["redis_conns"] and own_fds(quiet) <= own_fds(baseline):
                break
    fd_kinds = describe_fds(args.gate_pid) if alive else {}
    emu.close()
    problems, log_counts = log_problems(args.gate_log, chaos, checker, t_start, t_wall_start)

    failures = []
    if not alive:
        failures.append("the gateway exited during the run")
    if checker.count.get("wrong", 0):
        failures.append("%d wrong answers" % checker.count["wrong"])
    for kind, n in checker.transport.items():
        if n:
            failures.append("%d transport errors (%s)" % (n, kind))
    for kind in KINDS:
        if checker.count[kind] == 0:
            failures.append("no %s answers" % kind)
    rss_growth = None
    if alive and warm_sample and end_load:
        rss_growth = (end_load["rss_kb"] - warm_sample["rss_kb"]) / warm_sample["rss_kb"]
        # A run shorter than five minutes measures 30 s after a 30 s warm-up: the allocator's arenas
        # still settle there (4.7 % seen on a clean run), so it is held to 10 %; longer runs to 5 %.
        limit = 0.05 if args.seconds >= 300 else 0.10
        if rss_growth >= limit:
            failures.append("RSS grew %.1f %% after the warm-up (limit %.0f %%)" % (rss_growth * 100, limit * 100))
    if quiet:
        if quiet["redis_conns"] != baseline["redis_conns"]:
            failures.append("Redis connections %d, baseline %d" % (quiet["redis_conns"], baseline["redis_conns"]))
        if own_fds(quiet) > own_fds(baseline):
            failures.append("descriptors besides the pools: %d, baseline %d" % (own_fds(quiet), own_fds(baseline)))
        # The upstream pool keeps at most what was in use at once: one per front-end load thread and worker.
        if quiet["upstream_conns"] > FRONT_THREADS * cfg_doc["workers"]:
            failures.append("upstream connections %d over the concurrency seen" % quiet["upstream_conns"])
        if quiet["graph_conns"] > max(baseline["graph_conns"], cfg_doc["intune"].get("max_graph_connections", 16)):
            failures.append("Graph connections %d over the pool's bound" % quiet["graph_conns"])
    if problems:
        failures.append("%d log lines no phase explains" % len(problems))

    summary = {"seconds": round(elapsed, 1), "devices": len(devices.ids), "requests": checker.count,
               "answers_checked": checker.checked, "outcomes": checker.outcomes, "stale_answers": checker.stale,
               "errors_during_faults": checker.errors_in_faults, "transport_errors": checker.transport,
               "keepalive_reconnects": checker.reconnects, "handshakes": load.handshakes, "resumed": load.resumed,
               "flips": flips, "reloads": chaos.reloads, "redis_restarts": chaos.redis_restarts,
               "fault_phases": chaos.phase_counts, "baseline": baseline, "warm": warm_sample, "end_load": end_load,
               "quiet": quiet, "quiet_fds": fd_kinds, "baseline_fds": baseline_fds, "rss_growth_pct": None if rss_growth is None else round(rss_growth * 100, 2),
               "samples": samples, "log_warnings": log_counts, "log_problems": problems[:20],
               "wrong": checker.wrong[:20], "events": chaos.events, "failures": failures}
    print(json.dumps(summary))
    return 1 if failures else 0


if __name__ == "__main__":
    sys.exit(main())
