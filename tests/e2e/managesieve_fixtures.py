"""A ManageSieve-side instance: imap_fixtures.ImapBox (passwd-file user
alice/secret, Maildir, self-signed certificate, IMAP) with `protocols =
imap pop3 lmtp sieve`, an LMTP listener and a managesieve-login service
on free loopback ports, and a raw ManageSieve client that reads whole
responses (literals included)."""
import re
import socket
import ssl

from conftest import free_port
from imap_fixtures import ImapBox
from pop3_fixtures import listening, wait_for


class SieveBox(ImapBox):
    def __init__(self, bindir, root, extra="", plugin=""):
        self.sieve_port = free_port()
        self.lmtp_port = free_port()
        conf = ("lda_mailbox_autocreate = yes\n"
                "service managesieve-login {\n  inet_listener sieve {\n    port = %d\n  }\n}\n"
                "service lmtp {\n  inet_listener lmtp {\n    address = 127.0.0.1\n"
                "    port = %d\n  }\n}\n"
                "plugin {\n  sieve = file:~/sieve;active=~/.dovecot.sieve\n%s}\n"
                % (self.sieve_port, self.lmtp_port, plugin)) + extra
        super().__init__(bindir, root, extra=conf)
        with open(self.conf) as f:
            text = f.read()
        text = text.replace("protocols = imap pop3\n", "protocols = imap pop3 lmtp sieve\n")
        with open(self.conf, "w") as f:
            f.write(text)

    def start(self):
        super().start()
        assert wait_for(lambda: listening(self.sieve_port) and listening(self.lmtp_port)), \
            self.logtext()


FINAL = re.compile(rb"^(OK|NO|BYE)\b")
LITERAL = re.compile(rb"\{(\d+)\+?\}\r\n$")


class Client:
    """A raw ManageSieve client: send bytes, read one response (every line
    up to the OK/NO/BYE one, literals read by their size)."""

    def __init__(self, port, source="127.0.0.1", timeout=20):
        self.sock = socket.create_connection(("127.0.0.1", port), timeout=timeout,
                                             source_address=(source, 0))
        self.buf = b""

    def _fill(self):
        data = self.sock.recv(65536)
        if not data:
            raise EOFError("connection closed; have %r" % self.buf)
        self.buf += data

    def _line(self):
        while b"\r\n" not in self.buf:
            self._fill()
        i = self.buf.index(b"\r\n") + 2
        line, self.buf = self.buf[:i], self.buf[i:]
        return line

    def _take(self, n):
        while len(self.buf) < n:
            self._fill()
        data, self.buf = self.buf[:n], self.buf[n:]
        return data

    def logical_line(self):
        """a line with any literal it announces, and what follows it"""
        line = self._line()
        m = LITERAL.search(line)
        while m:
            line += self._take(int(m.group(1)))
            rest = self._line()
            line += rest
            m = LITERAL.search(rest)
        return line

    def response(self):
        out = b""
        while True:
            line = self.logical_line()
            out += line
            if FINAL.match(line):
                return out

    def cont(self):
        """a server continuation (one string line) during AUTHENTICATE"""
        return self.logical_line()

    def send(self, data):
        if isinstance(data, str):
            data = data.encode()
        self.sock.sendall(data)

    def cmd(self, data):
        self.send(data)
        return self.response()

    def starttls(self):
        ctx = ssl.create_default_context()
        ctx.check_hostname = False
        ctx.verify_mode = ssl.CERT_NONE
        self.sock = ctx.wrap_socket(self.sock)

    def close(self):
        try:
            self.sock.close()
        except OSError:
            pass
