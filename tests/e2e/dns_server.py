"""A DNS server for the end-to-end tests, on a random loopback port (UDP
and TCP on the same number), built on Python's dnslib.

It serves the zone text a test gives (BIND master-file lines, absolute
names) and, per query name, can misbehave on purpose:

  "timeout"      never answer
  "servfail"     RCODE 2
  "truncate"     UDP answers with TC set and no records; TCP answers right
  "truncate_tcp" TC over UDP, then a TCP answer cut off mid-record
  "loop"         an answer whose record name is a compression pointer to itself
  "wrong_id"     the right answer with another message ID (then nothing)
  "oversized"    a TCP answer of ~60 KB of A records (TC over UDP first)
  "garbage"      random bytes
  "cname_loop"   a CNAME chain that points back at its start

Names that exist in the zone but have no record of the asked type get
NOERROR with the zone's SOA (negative caching); unknown names NXDOMAIN.
"""
import os
import socket
import struct
import threading

from dnslib import CLASS, QTYPE, RCODE, RR, A, CNAME, DNSRecord, DNSHeader


class DNSServer:
    def __init__(self, zone="", host="127.0.0.1"):
        self.host = host
        self.records = []
        self.behaviour = {}
        self.queries = []  # (qname, qtype name, "udp"|"tcp")
        self.lock = threading.Lock()
        self.set_zone(zone)
        self.udp = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
        self.tcp = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        self.tcp.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        # one port number for both, as a resolver expects
        for _ in range(50):
            self.udp.bind((host, 0))
            self.port = self.udp.getsockname()[1]
            try:
                self.tcp.bind((host, self.port))
                break
            except OSError:
                self.udp.close()
                self.udp = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
        self.tcp.listen(16)
        self.udp.settimeout(0.2)
        self.tcp.settimeout(0.2)
        self.stopping = False
        self.threads = [threading.Thread(target=self._serve_udp, daemon=True),
                        threading.Thread(target=self._serve_tcp, daemon=True)]
        for t in self.threads:
            t.start()

    @property
    def address(self):
        return "%s:%d" % (self.host, self.port)

    def set_zone(self, zone):
        with self.lock:
            self.records = RR.fromZone(zone) if zone.strip() else []

    def misbehave(self, name, how):
        with self.lock:
            self.behaviour[name.lower().rstrip(".")] = how

    def stop(self):
        self.stopping = True
        for t in self.threads:
            t.join(timeout=2)
        self.udp.close()
        self.tcp.close()

    # -- answers --------------------------------------------------------

    def _soa(self, qname):
        best = None
        for rr in self.records:
            if rr.rtype == QTYPE.SOA:
                zone = str(rr.rname).lower().rstrip(".")
                if qname == zone or qname.endswith("." + zone):
                    best = rr
        return best

    def _answer(self, req):
        q = req.q
        qname = str(q.qname).lower().rstrip(".")
        reply = req.reply()
        with self.lock:
            records = list(self.records)
        name, seen = qname, set()
        # follow CNAMEs within the zone, as a recursive server would
        while name not in seen:
            seen.add(name)
            owned = [rr for rr in records if str(rr.rname).lower().rstrip(".") == name]
            match = [rr for rr in owned if rr.rtype == q.qtype or q.qtype == QTYPE.ANY]
            cname = [rr for rr in owned if rr.rtype == QTYPE.CNAME]
            if match:
                for rr in match:
                    reply.add_answer(rr)
                return reply
            if cname and q.qtype != QTYPE.CNAME:
                reply.add_answer(cname[0])
                name = str(cname[0].rdata.label).lower().rstrip(".")
                continue
            break
        exists = any(str(rr.rname).lower().rstrip(".") == name for rr in records)
        if not exists and not reply.rr:
            reply.header.rcode = RCODE.NXDOMAIN
        soa = self._soa(name)
        if soa is not None:
            reply.add_auth(soa)
        return reply

    def _respond(self, data, proto):
        try:
            req = DNSRecord.parse(data)
        except Exception:
            return None
        qname = str(req.q.qname).lower().rstrip(".")
        with self.lock:
            self.queries.append((qname, QTYPE.get(req.q.qtype), proto))
            how = self.behaviour.get(qname)
        if how == "timeout":
            return None
        if how == "servfail":
            r = req.reply()
            r.header.rcode = RCODE.SERVFAIL
            return r.pack()
        if how == "garbage":
            return data[:2] + os.urandom(200)
        if how == "wrong_id":
            r = self._answer(req)
            r.header.id = (req.header.id + 1) & 0xFFFF
            return r.pack()
        if how == "loop":
            # header + question copied, one answer whose name is a pointer
            # to itself (offset of the answer record)
            qlen = len(data) - 12
            hdr = struct.pack("!HHHHHH", req.header.id, 0x8180, 1, 1, 0, 0)
            off = 12 + qlen
            ans = struct.pack("!H", 0xC000 | off) + struct.pack("!HHIH", req.q.qtype, 1, 60, 4)
            return hdr + data[12:] + ans + b"\x7f\x00\x00\x01"
        if how == "cname_loop":
            r = req.reply()
            a, b = qname + ".", "loop2." + qname + "."
            r.add_answer(RR(a, QTYPE.CNAME, rdata=CNAME(b), ttl=60))
            r.add_answer(RR(b, QTYPE.CNAME, rdata=CNAME(a), ttl=60))
            return r.pack()
        if how in ("truncate", "truncate_tcp", "oversized") and proto == "udp":
            r = req.reply()
            r.header.tc = 1
            return r.pack()
        if how == "truncate_tcp":
            full = self._answer(req).pack()
            return full[:len(full) - 3]
        if how == "oversized":
            r = req.reply()
            for i in range(3700):
                r.add_answer(RR(req.q.qname, QTYPE.A, rdata=A("10.%d.%d.1" % (i // 250, i % 250)),
                                ttl=60))
            return r.pack()[:65535]
        return self._answer(req).pack()

    # -- transports -----------------------------------------------------

    def _serve_udp(self):
        while not self.stopping:
            try:
                data, peer = self.udp.recvfrom(4096)
            except (socket.timeout, OSError):
                continue
            out = self._respond(data, "udp")
            if out is not None:
                try:
                    self.udp.sendto(out, peer)
                except OSError:
                    pass

    def _serve_tcp(self):
        while not self.stopping:
            try:
                conn, _ = self.tcp.accept()
            except (socket.timeout, OSError):
                continue
            threading.Thread(target=self._tcp_conn, args=(conn,), daemon=True).start()

    def _tcp_conn(self, conn):
        conn.settimeout(5)
        try:
            while not self.stopping:
                hdr = self._recv(conn, 2)
                if hdr is None:
                    return
                data = self._recv(conn, struct.unpack("!H", hdr)[0])
                if data is None:
                    return
                out = self._respond(data, "tcp")
                if out is None:
                    continue
                conn.sendall(struct.pack("!H", len(out)) + out)
        except OSError:
            pass
        finally:
            conn.close()

    @staticmethod
    def _recv(conn, n):
        buf = b""
        while len(buf) < n:
            chunk = conn.recv(n - len(buf))
            if not chunk:
                return None
            buf += chunk
        return buf
