"""Peer SMTP servers for the outbound tests, on loopback: aiosmtpd with a
handler whose replies the test chooses, and a raw socket server for the
peers that misbehave (slow, silent, endless replies, dropping mid-DATA)."""
import socket
import threading
import time

from aiosmtpd.controller import Controller
from aiosmtpd.smtp import AuthResult, LoginPassword


class Handler:
    def __init__(self):
        self.messages = []      # (mail_from, rcpt_tos, content bytes)
        self.rcpt_reply = None  # e.g. "550 5.1.1 <x>: Recipient address rejected"
        self.data_reply = None
        self.mail_reply = None
        self.data_delay = 0     # seconds handle_DATA waits (concurrency tests)
        self.active = 0         # transactions in DATA right now
        self.max_active = 0

    async def handle_MAIL(self, server, session, envelope, address, mail_options):
        if self.mail_reply:
            return self.mail_reply
        envelope.mail_from = address
        envelope.mail_options.extend(mail_options)
        return "250 2.1.0 Ok"

    async def handle_RCPT(self, server, session, envelope, address, rcpt_options):
        if self.rcpt_reply:
            return self.rcpt_reply
        envelope.rcpt_tos.append(address)
        return "250 2.1.5 Ok"

    async def handle_DATA(self, server, session, envelope):
        if self.data_reply:
            return self.data_reply
        if self.data_delay:
            import asyncio
            self.active += 1
            self.max_active = max(self.max_active, self.active)
            await asyncio.sleep(self.data_delay)
            self.active -= 1
        self.messages.append((envelope.mail_from, list(envelope.rcpt_tos),
                              envelope.original_content or envelope.content,
                              session.auth_data, bool(session.ssl)))
        return "250 2.0.0 Ok: queued as PEER%d" % len(self.messages)


class Peer:
    """aiosmtpd on host:port (port 0: a free one)."""

    def __init__(self, host="127.0.0.1", port=0, tls_context=None, users=None,
                 require_starttls=False, **extra):
        self.handler = Handler()
        self.host = host
        if port == 0:
            # below the ephemeral range, this worker's (conftest.free_port)
            from conftest import free_port
            port = free_port(host)
        self.port = port
        kw = {}
        if tls_context is not None:
            kw["tls_context"] = tls_context
            kw["require_starttls"] = require_starttls
        if users is not None:
            def auth(server, session, envelope, mechanism, auth_data):
                if isinstance(auth_data, LoginPassword) and \
                        users.get(auth_data.login.decode()) == auth_data.password.decode():
                    return AuthResult(success=True, auth_data=auth_data.login.decode())
                return AuthResult(success=False, handled=False)
            kw["authenticator"] = auth
            kw["auth_require_tls"] = tls_context is not None
            kw["auth_required"] = True
        kw.update(extra)
        self.controller = Controller(self.handler, hostname=host, port=port,
                                     server_hostname="peer.example", **kw)
        self.controller.start()

    @property
    def messages(self):
        return self.handler.messages

    def wait(self, n=1, timeout=60):
        end = time.time() + timeout
        while time.time() < end:
            if len(self.handler.messages) >= n:
                return True
            time.sleep(0.1)
        return False

    def stop(self):
        if self.controller is not None:
            self.controller.stop()
            self.controller = None


class RawPeer:
    """A scripted SMTP peer: how = "silent" (accepts, never greets),
    "slow" (greets after `delay` seconds), "endless" (a multi-line greeting
    that never ends), "drop_data" (drops the connection after the first
    message line), "5xx_greeting". Counts connections."""

    def __init__(self, how, host="127.0.0.1", port=0, delay=0):
        self.how = how
        self.delay = delay
        self.connections = 0
        self.commands = []      # command lines received
        self.sock = socket.socket()
        self.sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        self.sock.bind((host, port))
        self.port = self.sock.getsockname()[1]
        self.sock.listen(16)
        self.sock.settimeout(0.2)
        self.stopping = False
        self.conns = []
        self.thread = threading.Thread(target=self._serve, daemon=True)
        self.thread.start()

    def _serve(self):
        while not self.stopping:
            try:
                c, _ = self.sock.accept()
            except (socket.timeout, OSError):
                continue
            self.connections += 1
            self.conns.append(c)
            threading.Thread(target=self._talk, args=(c,), daemon=True).start()

    def _talk(self, c):
        c.settimeout(30)
        try:
            if self.how == "silent":
                while not self.stopping and c.recv(1024):
                    pass
                return
            if self.how == "slow":
                time.sleep(self.delay)
            if self.how == "endless":
                end = time.time() + 60
                while not self.stopping and time.time() < end:
                    c.sendall(b"220-still greeting\r\n" * 50)
                    time.sleep(0.05)
                return
            if self.how == "5xx_greeting":
                c.sendall(b"554 5.7.1 no mail from you\r\n")
                c.recv(1024)
                return
            c.sendall(b"220 raw.example ESMTP\r\n")
            f = c.makefile("rb")
            while not self.stopping:
                line = f.readline()
                if not line:
                    return
                self.commands.append(line.strip().decode(errors="replace"))
                cmd = line.strip().upper()
                if cmd.startswith(b"EHLO") and self.how == "dsn":
                    c.sendall(b"250-raw.example\r\n250-DSN\r\n250 8BITMIME\r\n")
                elif cmd.startswith(b"EHLO"):
                    c.sendall(b"250-raw.example\r\n250 8BITMIME\r\n")
                elif cmd.startswith(b"DATA"):
                    c.sendall(b"354 go ahead\r\n")
                    f.readline()
                    if self.how == "drop_data":
                        c.close()
                        return
                    while True:
                        body = f.readline()
                        if not body or body == b".\r\n":
                            break
                    c.sendall(b"250 2.0.0 Ok: queued as RAW\r\n")
                elif cmd.startswith(b"QUIT"):
                    c.sendall(b"221 bye\r\n")
                    return
                else:
                    c.sendall(b"250 ok\r\n")
        except OSError:
            pass
        finally:
            try:
                c.close()
            except OSError:
                pass

    def stop(self):
        self.stopping = True
        self.thread.join(timeout=2)
        self.sock.close()
